/** Pods with their own user namespace (Kubernetes' `spec.hostUsers: false`, KEP-127): ids 0–65535 of the pod are
 * a range of 65536 host ids of its own, so root in the pod is an unprivileged id outside and an escape lands as
 * nobody. What the manifest may ask then, which range a pod gets (pure), and the ownership shift of what podrun
 * makes for the pod (volumes, /etc files), which its root must own. */
import { PodrunError } from '../errors';
import type { PodContainer, PodManifest } from './manifest-schema';

/** ids a pod's user namespace maps (0..size-1), as kubelet's */
export const USERNS_SIZE = 65536;
/** the first host id of the first pod's range: above the ids of users and of the usual /etc/subuid ranges */
export const USERNS_BASE = 0x80000000;

export interface IdRange {
  uidBase: number;
  gidBase: number;
  size: number;
}

export interface UserNamespaceOptions {
  /** first host id given to pods (default 2^31) */
  base?: number;
  /** ids per pod (default 65536, at least 65536: a pod's ids run to 65535) */
  size?: number;
}

/** The first range of `size` ids from `base` that no pod in `taken` has (pure). */
export function allocateIdRange(taken: readonly IdRange[], o: UserNamespaceOptions = {}): IdRange {
  const base = o.base ?? USERNS_BASE;
  const size = o.size ?? USERNS_SIZE;
  if (!Number.isInteger(base) || base < 1) throw new PodrunError('EINVALID_CONFIG', `user namespace base ${base}: must be a positive integer`, { field: 'userNamespaces.base' });
  if (!Number.isInteger(size) || size < USERNS_SIZE) throw new PodrunError('EINVALID_CONFIG', `user namespace size ${size}: must be at least ${USERNS_SIZE}`, { field: 'userNamespaces.size' });
  const overlaps = (start: number): boolean => taken.some((r) => start < r.uidBase + r.size && r.uidBase < start + size);
  for (let start = base; start + size <= 0xffffffff; start += size) {
    if (!overlaps(start)) return { uidBase: start, gidBase: start, size };
  }
  throw new PodrunError('EHOST', `no free range of ${size} ids above ${base} for another pod with spec.hostUsers: false`);
}

/** Every container of the pod with its field path (init containers first), as errors name them (pure). */
export function containersAt(pod: PodManifest): Array<[string, PodContainer]> {
  return [
    ...(pod.spec.initContainers ?? []).map((c, i): [string, PodContainer] => [`spec.initContainers[${i}]`, c]),
    ...pod.spec.containers.map((c, i): [string, PodContainer] => [`spec.containers[${i}]`, c]),
  ];
}

/** Every user and group id the pod names, with its field path: what a user namespace must be able to map (pure). */
export function podIdFields(pod: PodManifest, containers: Array<[string, PodContainer]>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const id = (field: string, v: number | undefined): void => void (v !== undefined && out.push([field, v]));
  const sc = pod.spec.securityContext;
  id('spec.securityContext.runAsUser', sc?.runAsUser);
  id('spec.securityContext.runAsGroup', sc?.runAsGroup);
  id('spec.securityContext.fsGroup', sc?.fsGroup);
  (sc?.supplementalGroups ?? []).forEach((g, i) => id(`spec.securityContext.supplementalGroups[${i}]`, g));
  for (const [at, c] of containers) {
    id(`${at}.securityContext.runAsUser`, c.securityContext?.runAsUser);
    id(`${at}.securityContext.runAsGroup`, c.securityContext?.runAsGroup);
  }
  return out;
}

/** What a `hostUsers: false` pod cannot ask, each as `field: reason` (pure). */
export function userNamespaceErrors(pod: PodManifest, containers: Array<[string, PodContainer]>): string[] {
  const spec = pod.spec;
  // the API server's rule: an unmasked /proc only where the pod's root is nobody on the host
  if (spec.hostUsers !== false) return containers.filter(([, c]) => c.securityContext?.procMount === 'Unmasked').map(([at]) => `${at}.securityContext.procMount: \`hostUsers\` must be false to use \`Unmasked\``);
  const out: string[] = [];
  const not = (field: string, why: string): void => void out.push(`${field}: ${why} with spec.hostUsers: false`);
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (spec[k]) not(`spec.${k}`, 'the host\'s namespaces are owned by the host\'s user namespace: not allowed');
  for (const [field, v] of podIdFields(pod, containers)) if (v >= USERNS_SIZE) not(field, `${v} is outside the pod's ids (0–${USERNS_SIZE - 1})`);
  for (const [at, c] of containers) {
    if (c.securityContext?.privileged) not(`${at}.securityContext.privileged`, 'the host\'s devices and capabilities over them are not the pod\'s to have: not allowed');
  }
  return out;
}

