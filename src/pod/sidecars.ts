/** Sidecar containers (Kubernetes 1.29+): init containers with `restartPolicy: Always`. Each starts in its place
 * among the init containers but is not waited for: the next starts once it runs. It is restarted whatever the
 * pod's restartPolicy, runs beside the app containers, counts for the pod's readiness but not for its phase, and
 * is stopped after them, in reverse order — also when they all completed (a Job's pod). Pure. */
import type { PodContainer, PodManifest } from './manifest-schema';

export const isSidecar = (c: PodContainer): boolean => c.restartPolicy === 'Always';

/** The manifest's spec of a pod's container record (an app container's, or an init container's). */
export function specOf(manifest: PodManifest, c: { name: string; init: boolean }): PodContainer | undefined {
  return (c.init ? manifest.spec.initContainers ?? [] : manifest.spec.containers).find((x) => x.name === c.name);
}

/** The records that are the pod's sidecars, in the manifest's order. */
export function sidecarsOf<T extends { name: string; init: boolean }>(manifest: PodManifest, records: readonly T[]): T[] {
  const names = (manifest.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name);
  return names.flatMap((n) => records.filter((r) => r.init && r.name === n));
}

/** What a stop ends, in its order: the app containers (and init containers that still run) at once, then each
 * sidecar on its own, last declared first. */
export function stopOrder<T extends { name: string; init: boolean }>(manifest: PodManifest, running: readonly T[]): T[][] {
  const sidecars = sidecarsOf(manifest, running);
  const rest = running.filter((r) => !sidecars.includes(r));
  return [...(rest.length ? [rest] : []), ...sidecars.reverse().map((s) => [s])];
}
