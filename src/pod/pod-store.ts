/** Pod records under <root>/pods/<id>/ (tmpfs, like the OCI state):
 * pod.json, ns/ (pinned namespaces), etc/ (hosts, hostname, resolv.conf),
 * bundles/, logs/, and the OCI state of its containers in oci/. Writable
 * container layers and volumes live on disk under <data-root>/pods/<id>/. */
import type { IdRange } from './user-namespace';
import fs from 'node:fs';
import path from 'node:path';
import { PODRUN_SLICE } from '../cgroup/cgroup-path';
import { podrunSlice } from '../cgroup/delegation';
import { PodrunError } from '../errors';
import { VOLATILE, writeFileAtomic } from '../util/atomic-file';
import { isSameProcess } from '../util/process-identity';
import type { SandboxNamespaces } from './container-spec';
import type { PodManifest } from './manifest-schema';

export interface PodContainerRecord {
  name: string;
  init: boolean;
  /** id in the pod's OCI state root */
  ociId: string;
  image: string;
  imageId: string;
  /** upper/work/rootfs of its overlay */
  rootfsDir: string;
  bundle: string;
  /** its CRI-format log ('' for none: a CRI container without log_path) */
  log: string;
  /** what a CRI client created it with (src/cri keeps its shape) */
  cri?: Record<string, unknown>;
  /** what stops it (lifecycle.stopSignal, else the image's StopSignal); absent: SIGTERM */
  stopSignal?: string;
}

/** What the sandbox made that containers created later (over CRI) join. */
export interface SandboxRecord {
  namespaces: SandboxNamespaces;
  /** the pod's /dev/shm tmpfs (the host's with hostIPC) */
  shm: string;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
}

export interface PodRecord {
  id: string;
  name: string;
  namespace: string;
  created: string;
  manifest: PodManifest;
  /** absent while the sandbox is being built */
  containers: PodContainerRecord[];
  /** set when an init container failed or start gave up */
  failed?: string;
  dataDir: string;
  /** volumes mounted as tmpfs (emptyDir medium Memory) */
  tmpfsVolumes: string[];
  /** cgroup directories the pod made (podrun.slice when it was first, pod-<id>): removed on rm */
  cgroupCreated?: string[];
  /** the process running the pod's probes, if it has any */
  prober?: { pid: number; startTime?: number };
  /** the pod's podrun-monitor, parent of all its containers */
  monitor?: { pid: number; startTime?: number };
  /** pid 1 of the shared PID namespace (shareProcessNamespace) */
  podInit?: { pid: number; startTime?: number };
  /** the CNI network it is attached to (set before ADD) */
  network?: { name: string; ifName: string };
  podIPs?: string[];
  /** the pod cgroup below the cgroup2 mount, when not podrun.slice/pod-<id> (<CRI cgroup_parent>/pod-<id>) */
  cgroup?: string;
  /** rootless with no cgroup v2 subtree delegated: the pod has no cgroup; its processes stay in the user's own and
   * each container's are tracked by its PID namespace */
  noCgroup?: boolean;
  /** set once the sandbox is built */
  sandbox?: SandboxRecord;
  /** a sandbox made over CRI: what the client asked (src/cri keeps its shape) */
  cri?: Record<string, unknown>;
  /** the `podrun start` process while it builds the pod; cleared once the pod is up */
  starter?: { pid: number; startTime?: number };
  /** the process that owns the pod: once it has ended, the pod is removed (the library's owned pods) */
  owner?: { pid: number; startTime?: number };
  /** hostUsers: false: the host ids its user namespace maps (freed with the record) */
  userns?: IdRange;
  /** set when `rm` begins: watchers report the containers' ends, not the teardown's intermediate states */
  removing?: boolean;
}

/** True when the process that was starting the pod died before it finished. */
export const startInterrupted = (rec: PodRecord): boolean => !!rec.starter && !isSameProcess(rec.starter.pid, rec.starter.startTime);

/** True when the pod has an owner and that process has ended. */
export const ownerGone = (rec: PodRecord): boolean => !!rec.owner && !isSameProcess(rec.owner.pid, rec.owner.startTime);

export const podsDir = (root: string): string => path.join(root, 'pods');
export const podDir = (root: string, id: string): string => path.join(podsDir(root), id);

/** The pod's network namespace file (in its dir), which hooks and probes reach its IP through; none with hostNetwork. */
export const podNetns = (rec: { manifest: { spec: { hostNetwork?: boolean } } }, dir: string): string | undefined =>
  rec.manifest.spec.hostNetwork ? undefined : path.join(dir, 'ns', 'net');
export const podOciRoot = (root: string, id: string): string => path.join(podDir(root, id), 'oci');
/** The pod's cgroup below the cgroup2 root; its containers' (ctr-<name>) are children. */
/** podrun.slice/pod-<id> (rootless: below the user's delegated cgroup) */
export const podCgroup = (id: string): string => `${podrunSlice() ?? PODRUN_SLICE}/pod-${id}`;

/** The pod's cgroup below the cgroup2 mount (its own, or the one a CRI client named); null when it has none. */
export const podCgroupOf = (rec: Pick<PodRecord, 'id' | 'cgroup' | 'noCgroup'>): string | null => (rec.noCgroup ? null : rec.cgroup ?? podCgroup(rec.id));

export function writePod(root: string, rec: PodRecord): void {
  writeFileAtomic(path.join(podDir(root, rec.id), 'pod.json'), `${JSON.stringify(rec, null, 2)}\n`, 0o600, VOLATILE);
}

export function readPod(root: string, id: string): PodRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(podDir(root, id), 'pod.json'), 'utf8')) as PodRecord;
  } catch {
    return undefined;
  }
}

export function listPodIds(root: string): string[] {
  try {
    return fs.readdirSync(podsDir(root)).filter((n) => /^[0-9a-f]{12}$/.test(n));
  } catch {
    return [];
  }
}

export function listPods(root: string): PodRecord[] {
  return listPodIds(root).map((id) => readPod(root, id)).filter((p): p is PodRecord => !!p).sort((a, b) => a.created.localeCompare(b.created));
}

/** Pod directories without a record: what a crash between mkdir and the
 * first record write leaves (both happen under pods.lock). */
export function recordlessPodIds(root: string): string[] {
  return listPodIds(root).filter((id) => !fs.existsSync(path.join(podDir(root, id), 'pod.json')));
}

/** A pod by name, id or unique id prefix. */
export function findPod(root: string, query: string): PodRecord {
  // an empty id "prefix" would match any pod
  if (!query) throw new PodrunError('EINVALID_CONFIG', 'a pod name or id is needed');
  const pods = listPods(root);
  const byName = pods.filter((p) => p.name === query || `${p.namespace}/${p.name}` === query);
  if (byName.length === 1) return byName[0];
  const byId = pods.filter((p) => p.id.startsWith(query));
  if (byId.length === 1) return byId[0];
  if (byId.length > 1 || byName.length > 1) throw new PodrunError('EINVALID_CONFIG', `pod ${query} is ambiguous`);
  throw new PodrunError('ENOTFOUND', `pod ${query} does not exist`);
}

/** The id of a pod to remove: a pod by name or id, or a record-less pod
 * directory by id (debris of a crash, which only rm and gc act on). */
export function findPodIdForRemoval(root: string, query: string): string {
  try {
    return findPod(root, query).id;
  } catch (e) {
    if ((e as PodrunError).code !== 'ENOTFOUND') throw e;
    const ids = recordlessPodIds(root).filter((id) => id.startsWith(query));
    if (ids.length === 1) return ids[0];
    throw e;
  }
}
