/** A disk-backed emptyDir's sizeLimit as kubelet enforces it: not a quota but an eviction — the pod is failed
 * ("Evicted") once the volume's disk usage exceeds the limit, measured every ten seconds (kubelet's eviction
 * manager's period) by the pod's prober. Usage is what `du` counts: allocated blocks, each inode once, links
 * not followed, no other file system entered. */
import fs from 'node:fs';
import path from 'node:path';
import { parseQuantity } from '../cgroup/kube-resources';
import type { PodManifest } from './manifest-schema';

export const VOLUME_CHECK_PERIOD_MS = 10_000;

/** The disk emptyDirs with a sizeLimit: name and bytes (pure). */
export function limitedEmptyDirs(pod: PodManifest): Array<{ name: string; limit: number; asWritten: string }> {
  return (pod.spec.volumes ?? []).flatMap((v, i) =>
    v.emptyDir && v.emptyDir.medium !== 'Memory' && v.emptyDir.sizeLimit !== undefined
      ? [{ name: v.name, limit: parseQuantity(v.emptyDir.sizeLimit, `spec.volumes[${i}].emptyDir.sizeLimit`), asWritten: String(v.emptyDir.sizeLimit) }]
      : []);
}

/** Bytes allocated under dir (du's count). Entries that vanish meanwhile (the pod is writing) are skipped. */
export function diskUsage(dir: string): number {
  const top = fs.lstatSync(dir);
  const seen = new Set<string>();
  let bytes = 0;
  const walk = (p: string, st: fs.Stats): void => {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return; // a hard link counted once
    seen.add(key);
    bytes += st.blocks * 512;
    if (!st.isDirectory() || st.dev !== top.dev) return;
    let names: string[];
    try {
      names = fs.readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) {
      const child = path.join(p, n);
      try {
        walk(child, fs.lstatSync(child));
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(dir, top);
  return bytes;
}

/** kubelet's eviction message, when a volume is over its limit. */
export function overLimit(volumesDir: string, limited: ReturnType<typeof limitedEmptyDirs>): string | undefined {
  for (const v of limited) {
    let used: number;
    try {
      used = diskUsage(path.join(volumesDir, v.name));
    } catch {
      continue;
    }
    if (used > v.limit) return `Evicted: Usage of EmptyDir volume "${v.name}" exceeds the limit "${v.asWritten}".`;
  }
  return undefined;
}
