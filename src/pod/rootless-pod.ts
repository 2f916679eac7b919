/** What a pod may ask of rootless podrun, checked before anything is made. Pure. */
import { PASTA_NETWORK } from '../network/pasta';
import type { RootlessView } from '../util/rootless';
import type { PodManifest } from './manifest-schema';
import { containersAt, podIdFields } from './user-namespace';

/** Each refusal names the field (or option) as written, and why rootless podrun cannot do it. */
export function rootlessErrors(pod: PodManifest, view: RootlessView | null, o: { network?: string } = {}): string[] {
  if (!view) return [];
  const out: string[] = [];
  const spec = pod.spec;
  if (spec.hostUsers === false) {
    out.push('spec.hostUsers: false: rootless, every pod runs in your own user namespace already; one per pod would need 65536 ids ' +
      'of yours per pod (run podrun as root for it)');
  }
  // the host's namespaces belong to the host's user namespace: what a container mounts for them, podrun may not
  const hostMount = { hostNetwork: '/sys', hostPID: '/proc', hostIPC: '/dev/mqueue' } as const;
  for (const [k, m] of Object.entries(hostMount) as Array<[keyof typeof hostMount, string]>) {
    if (spec[k]) out.push(`spec.${k}: rootless, the host's namespace belongs to the host's user namespace, so the container's ${m} cannot be mounted for it (not yet: a bind of the host's)`);
  }
  if (spec.shareProcessNamespace) out.push('spec.shareProcessNamespace: rootless, a container cannot yet mount /proc for the shared PID namespace (EPERM); not yet');
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
