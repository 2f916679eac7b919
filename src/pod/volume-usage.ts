/** A disk-backed emptyDir's sizeLimit as kubelet enforces it: not a quota but an eviction — the pod is failed
 * ("Evicted") once the volume's disk usage exceeds the limit, measured every ten seconds (kubelet's eviction
 * manager's period) by the pod's prober. Usage is what `du -x` counts (src/util/disk-usage.ts). */
import path from 'node:path';
import { parseQuantity } from '../cgroup/kube-resources';
import type { PodManifest } from './manifest-schema';
import { diskUsage } from '../util/disk-usage';

export const VOLUME_CHECK_PERIOD_MS = 10_000;

/** The disk emptyDirs with a sizeLimit: name and bytes (pure). */
export function limitedEmptyDirs(pod: PodManifest): Array<{ name: string; limit: number; asWritten: string }> {
  return (pod.spec.volumes ?? []).flatMap((v, i) =>
    v.emptyDir && v.emptyDir.medium !== 'Memory' && v.emptyDir.sizeLimit !== undefined
      ? [{ name: v.name, limit: parseQuantity(v.emptyDir.sizeLimit, `spec.volumes[${i}].emptyDir.sizeLimit`), asWritten: String(v.emptyDir.sizeLimit) }]
      : []);
}

/** kubelet's eviction message, when a volume is over its limit. */
export function overLimit(volumesDir: string, limited: ReturnType<typeof limitedEmptyDirs>): string | undefined {
  for (const v of limited) {
    const used = diskUsage(path.join(volumesDir, v.name)).bytes;
    if (used > v.limit) return `Evicted: Usage of EmptyDir volume "${v.name}" exceeds the limit "${v.asWritten}".`;
  }
  return undefined;
}
