/** What a pod may ask of rootless podrun, checked before anything is made. Pure. */
import { HOW_TO_DELEGATE } from '../cgroup/delegation';
import { PASTA_NETWORK } from '../network/pasta';
import type { RootlessView } from '../util/rootless';
import type { PodManifest } from './manifest-schema';
import { containersAt, podIdFields } from './user-namespace';

/** Each refusal names the field (or option) as written, and why rootless podrun cannot do it. */
export function rootlessErrors(pod: PodManifest, view: RootlessView | null, o: { network?: string; hostMqueue?: boolean; cgroup?: boolean } = {}): string[] {
  if (!view) return [];
  const out: string[] = [];
  const spec = pod.spec;
  if (spec.hostUsers === false) {
    out.push('spec.hostUsers: false: rootless, every pod runs in your own user namespace already; one per pod would need 65536 ids ' +
      'of yours per pod (run podrun as root for it)');
  }
  // the host's namespaces belong to the host's user namespace: their /sys, /proc and /dev/mqueue are bound from the
  // host (rootlessHostNamespaceMounts), which needs the host to have mounted them
  if (spec.hostIPC && o.hostMqueue === false) {
    out.push("spec.hostIPC: rootless, the container's /dev/mqueue is the host's, bound, and this host has no mqueue file system at " +
      "/dev/mqueue (systemd mounts one; else: mkdir /dev/mqueue && mount -t mqueue mqueue /dev/mqueue)");
  }
  // without a cgroup, what ends a container's processes with it is its PID namespace of its own: its init's end
  // kills the rest. A shared or the host's PID namespace has no such end.
  if (o.cgroup === false) {
    for (const field of ['hostPID', 'shareProcessNamespace'] as const) {
      if (spec[field]) {
        out.push(`spec.${field}: rootless with no cgroup v2 subtree delegated to you, podrun ends a container's processes with its own ` +
          `PID namespace, which this pod's containers would not have (${HOW_TO_DELEGATE})`);
      }
    }
  }
  for (const [at, c] of containersAt(pod)) {
    (c.volumeMounts ?? []).forEach((m, i) => {
      if (m.mountPropagation === 'Bidirectional') {
        out.push(`${at}.volumeMounts[${i}].mountPropagation: Bidirectional: rootless, the pod's mounts reach your user namespace's mount namespace at most, never the host's`);
      }
    });
  }
  if (o.network && o.network !== PASTA_NETWORK) {
    out.push(`network ${JSON.stringify(o.network)}: rootless, CNI networks are not available (their plugins need root on the host's network); ` +
      `--network ${PASTA_NETWORK} gives the pod the host's addresses and its hostPorts through pasta`);
  }
  const max = view.ids - 1;
  for (const [field, v] of podIdFields(pod, containersAt(pod))) {
    if (v > max) out.push(`${field}: ${v} is outside your user namespace's ids (0–${max}${view.ids === 1 ? ': without a range in /etc/subuid and /etc/subgid only root' : ''})`);
  }
  return out;
}
