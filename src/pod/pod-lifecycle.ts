/** Pod lifecycle: start (sandbox, images, volumes, init containers in
 * order, then every app container), stop (SIGTERM, grace, SIGKILL) and
 * remove. Each container goes through the OCI layer (create + start under
 * the pod's one podrun-monitor, which keeps their CRI logs, exit codes and
 * restarts). A failed start is rolled back by the same code `rm` uses. */
import { allocateIdRange, type IdRange, type UserNamespaceOptions } from './user-namespace';
import { shiftOwners } from '../image/id-shift';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyResources } from '../cgroup/apply';
import { containerResources, parseQuantity, podResources, type MemoryQoS } from '../cgroup/kube-resources';
import { cgroupDirsToCreate, createCgroup, pruneEmpty, pruneMadeParents, removeCgroup } from '../cgroup/lifecycle';
import { mapResources } from '../cgroup/resources';
import { HOW_TO_DELEGATE, rootlessWithoutCgroup } from '../cgroup/delegation';
import { hostCgroup2Mount, mountPointsOfType, mountPointsUnder, requireHostCgroup2Mount } from '../cgroup/mount';
import { PodrunError } from '../errors';
import { containerDefaults, ImageStore, mountRootfs, pullImage, removeLease, removeRootfs, writeLease } from '../image';
import { findImage, type ImageDetails } from '../image/images';
import { detachMount, monitorPath, nativeFs } from '../native';
import { runChild } from '../native/spawn';
import { MS } from '../oci/mount-options';
import {
  cancelRestarts, createContainer, deleteContainer, killContainer, readRecord, readRestarts, startCreated,
  checkLogRotation, DEFAULT_LOG_ROTATION, type ExitRecord, type LogRotation, type OverlayMount, type RestartPolicy, type RestartRecord, type SharedMonitor,
} from '../oci/lifecycle';
import { containerStatus } from '../oci/lifecycle/container-status';
import { readFileInRoot } from '../util/in-root';
import { isSameProcess, processStartTime } from '../util/process-identity';
import { withFileLock } from '../util/file-lock';
import { containerDir } from '../oci/lifecycle/state-store';
import { ChangeFeed } from '../util/change-feed';
import { traced, tracedSync } from '../util/trace';
import { rootlessView } from '../util/rootless';
import { ALL_CAPS, containerConfig, type NodeAllocatable } from './container-spec';
import { downwardText, writeDownwardItems, type DownwardItem } from './downward-volume';
import { prepareHostPath } from './host-path';
import { inPodTerms } from './launch-field';
import type { OciConfig } from '../oci/spec-schema';
import { hookAction, runHook, runPostStart } from './lifecycle-handler';
import { isSidecar, specOf, stopOrder } from './sidecars';
import { parseSignal } from '../oci/signals';
import { awaitSidecarStarted } from './sidecar-start';
import { needsProber, startProber, stopProber } from './prober';
import { killPodMonitorChildren, sandboxCgroup, startPodMonitor, stopPodMonitor } from './pod-monitor';
import { notYetImplemented } from './manifest';
import type { PodContainer, PodManifest } from './manifest-schema';
import type { ValidationMode } from './field-policy';
import { applyFsGroup } from './fs-group';
import { CGROUP_CONTROLLERS, limitWarnings, resourceFieldsFor } from './limit-warnings';
import { rootlessErrors } from './rootless-pod';
import { hostDevices } from '../oci/host-devices';
import { heldCapabilities, recursiveMountAttributes } from '../oci/host';
import { podDataDir, removeOrphanData, writeDataDirOwner } from './pod-data-dir';
import { noObjects, writeObjectVolume, type PodObjects } from './pod-objects';
import { attachPodNetwork, detachPodNetwork, portMappingsOf, type PodNetworkOptions } from './pod-network';
import { PASTA_NETWORK, pastaErrors, unprivilegedPortStart, type PortMapping } from '../network';
import { podCgroupOf, podDir, podNetns, podOciRoot, listPods, readPod, writePod, type PodContainerRecord, type PodRecord, type SandboxRecord } from './pod-store';
import { createPodShm, createSandbox, hostResolvConf, removeSandbox, writeEtcFiles } from './sandbox';

export interface PodOptions extends PodNetworkOptions {
  /** state root (default /run/podrun) */
  root: string;
  /** images and writable layers (default /var/lib/podrun) */
  dataRoot: string;
  /** pull with plain HTTP (local registries) */
  insecure?: boolean;
  /** first restart back-off in ms (kubelet: 10 s, doubling up to 5 min) */
  restartBackoffMs?: number;
  /** where Localhost seccomp profiles are (default <data-root>/seccomp, as kubelet's <root>/seccomp) */
  seccompProfileRoot?: string;
  /** kubelet's MemoryQoS feature: memory.min from requests, memory.high below limits */
  memoryQoS?: boolean;
  /** kubelet's containerLogMaxSize: a container log is rotated at this size (bytes or a quantity; default 10Mi) */
  containerLogMaxSize?: number | string;
  /** kubelet's containerLogMaxFiles: log files kept per container, the current one included (default 5) */
  containerLogMaxFiles?: number;
  onWarning?: (message: string) => void;
  /** what an unknown field of the manifest does, as kubectl's --validate (default strict: refused) */
  validate?: ValidationMode;
  /** where pods with spec.hostUsers: false get their ids (default: 65536 each from 2^31) */
  userNamespaces?: UserNamespaceOptions;
  /** the process whose end removes the pod (`podrun gc`, and the library's reaper: see src/client/owner-reaper.ts) */
  owner?: { pid: number; startTime?: number };
}

/** kubelet's restartPolicy per container: init containers only restart on
 * failure; each restart is a new container, from a fresh writable layer. */
export function restartFor(policy: PodManifest['spec']['restartPolicy'], init: boolean, backoffMs?: number, freshRootfs?: OverlayMount): RestartPolicy | undefined {
  const p = policy ?? 'Always';
  if (p === 'Never') return undefined;
  return { when: init || p === 'OnFailure' ? 'on-failure' : 'always', backoffMs, freshRootfs };
}



function ensureImage(c: PodContainer, field: string, o: PodOptions, pulled: Map<string, Promise<ImageDetails>>): Promise<ImageDetails> {
  let p = pulled.get(c.image);
  if (!p) {
    p = (async () => {
      const store = new ImageStore(o.dataRoot);
      try {
        if (c.imagePullPolicy !== 'Always') return findImage(store, c.image);
      } catch (e) {
        if ((e as PodrunError).code !== 'ENOTFOUND' || c.imagePullPolicy === 'Never') {
          throw new PodrunError('ENOTFOUND', `${field}.image: ${(e as Error).message}`, { field: `${field}.image`, cause: e });
        }
      }
      try {
        const img = await pullImage(c.image, { dataRoot: o.dataRoot, insecure: o.insecure, onWarning: o.onWarning });
        return findImage(store, img.id);
      } catch (e) {
        const pe = e as PodrunError;
        throw new PodrunError(pe.code ?? 'EIMAGE', `${field}.image: pulling ${c.image}: ${pe.message}`, { field: `${field}.image`, cause: e });
      }
    })();
    pulled.set(c.image, p);
  }
  return p;
}

/** the sum of the app containers' memory limits, when every one has one */
function podMemoryLimit(pod: PodManifest): number | undefined {
  return podResources(pod.spec.containers.map((c, i) => containerResources(c.resources, `spec.containers[${i}].resources`))).memory?.limit;
}

function makeVolumes(pod: PodManifest, rec: PodRecord, objects: PodObjects, node: NodeAllocatable): Record<string, string> {
  const out: Record<string, string> = {};
  // kubelet's volume ownership: not for hostPath, which is the host's
  const { fsGroup, fsGroupChangePolicy: fsGroupPolicy } = pod.spec.securityContext ?? {};
  for (const [i, v] of (pod.spec.volumes ?? []).entries()) {
    if (v.downwardAPI || v.projected) {
      // memory-backed as kubelet's: a projected secret never touches the disk
      const dir = path.join(rec.dataDir, 'volumes', v.name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      nativeFs().mount('tmpfs', dir, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=0755,size=16m');
      rec.tmpfsVolumes.push(dir);
      const at = `spec.volumes[${i}]`;
      const downward = (items: DownwardItem[], field: string, mode: number | undefined): void =>
        writeDownwardItems(items, dir, mode, (it, n) => downwardText(pod, rec.id, it, `${field}[${n}]`, node));
      if (v.downwardAPI) downward(v.downwardAPI.items ?? [], `${at}.downwardAPI.items`, v.downwardAPI.defaultMode);
      (v.projected?.sources ?? []).forEach((src, n) => {
        const sat = `${at}.projected.sources[${n}]`;
        if (src.downwardAPI) return downward(src.downwardAPI.items ?? [], `${sat}.downwardAPI.items`, v.projected!.defaultMode);
        const kind = src.configMap ? 'ConfigMap' as const : 'Secret' as const;
        const ref = (src.configMap ?? src.secret)!;
        writeObjectVolume(objects, { kind, ...ref, defaultMode: v.projected!.defaultMode }, dir, `${sat}.${src.configMap ? 'configMap' : 'secret'}`);
      });
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, { readOnly: true, policy: fsGroupPolicy });
      out[v.name] = dir;
      continue;
    }
    const obj = v.configMap ? { kind: 'ConfigMap' as const, ...v.configMap } : v.secret ? { kind: 'Secret' as const, ...v.secret, name: v.secret.secretName } : undefined;
    if (obj) {
      // kubelet's atomic-writer volumes: files from the object, mounted read-only; secrets on a tmpfs, never on disk
      const dir = path.join(rec.dataDir, 'volumes', v.name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (obj.kind === 'Secret') {
        nativeFs().mount('tmpfs', dir, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=0755,size=16m');
        rec.tmpfsVolumes.push(dir);
      }
      writeObjectVolume(objects, obj, dir, `spec.volumes[${i}].${v.configMap ? 'configMap' : 'secret'}`);
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, { readOnly: true, policy: fsGroupPolicy });
      out[v.name] = dir;
      continue;
    }
    if (v.hostPath) {
      prepareHostPath(v.hostPath, `spec.volumes[${i}].hostPath`);
      out[v.name] = v.hostPath.path;
      continue;
    }
    const dir = path.join(rec.dataDir, 'volumes', v.name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
    fs.chmodSync(dir, 0o777); // kubelet's emptyDir is world-writable
    if (v.emptyDir?.medium === 'Memory') {
      // without a sizeLimit, kubelet bounds a memory emptyDir by the pod's memory limit, where it has one
      const limit = v.emptyDir.sizeLimit !== undefined ? parseQuantity(v.emptyDir.sizeLimit, `spec.volumes[${i}].emptyDir.sizeLimit`) : podMemoryLimit(pod);
      const size = limit !== undefined ? `,size=${Math.round(limit)}` : '';
      nativeFs().mount('tmpfs', dir, 'tmpfs', 0, `mode=1777${size}`);
      rec.tmpfsVolumes.push(dir);
    }
    if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, { readOnly: false, policy: fsGroupPolicy });
    out[v.name] = dir;
  }
  return out;
}

/** Until the container has exited for good: its monitor recorded the exit
 * and has no restart pending, or the monitor is gone. Reports each failed
 * run that is going to be restarted. */
export async function waitExit(ociRoot: string, id: string, timeoutMs = Infinity, onRestart?: (exit: ExitRecord, r: RestartRecord) => void): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  let seen = -1;
  // woken when the monitor writes the container's exit (inotify on its directory); a look every 20 ms regardless
  const changes = new ChangeFeed();
  changes.watch(containerDir(ociRoot, id));
  try {
    for (;;) {
      const rec = readRecord(ociRoot, id);
      if (!rec) return true;
      const { status, exit } = containerStatus(ociRoot, rec);
      const monitorAlive = isSameProcess(rec.monitorPid, rec.monitorStartTime);
      if (status === 'stopped' && !monitorAlive) return true;
      if (status === 'stopped' && exit) {
        const r = readRestarts(ociRoot, id);
        if (r.nextAt === undefined) return true;
        if (r.nextAt !== seen) onRestart?.(exit, r);
        seen = r.nextAt;
      }
      if (Date.now() > end) return false;
      await changes.next(Math.min(20, Math.max(0, end - Date.now()) + 1));
    }
  } finally {
    changes.close();
  }
}

const qos = (o: { memoryQoS?: boolean }): MemoryQoS | undefined => (o.memoryQoS ? { nodeAllocatable: os.totalmem() } : undefined);

/** The pod cgroup, with kubelet's pod-level limits (sums of the app
 * containers', only when every one is bounded); containers nest below it.
 * Returns its directory; null for a rootless pod with no cgroup delegated, whose limits are said not enforced. */
function applyPodLimits(pod: PodManifest, rec: PodRecord, o: PodOptions): string | null {
  const cg2 = requireHostCgroup2Mount();
  if (!rec.cgroup && rootlessWithoutCgroup()) {
    rec.noCgroup = true;
    writePod(o.root, rec);
    const fields = resourceFieldsFor(pod, CGROUP_CONTROLLERS);
    if (fields.length) o.onWarning?.(`${fields.join(', ')}: not enforced: rootless, no cgroup v2 subtree is delegated to you (${HOW_TO_DELEGATE})`);
    return null;
  }
  const dir = path.join(cg2, podCgroupOf(rec)!);
  // recorded before mkdir, so rm after a crash right here still prunes what this pod made
  rec.cgroupCreated = cgroupDirsToCreate(dir);
  writePod(o.root, rec);
  createCgroup(dir);
  if (!pod.spec.containers.some((c) => c.resources)) return dir;
  const totals = podResources(pod.spec.containers.map((c, i) => containerResources(c.resources, `spec.containers[${i}].resources`, qos(o))));
  const { writes, unmappable } = mapResources(totals);
  const r = applyResources(cg2, dir, writes, unmappable);
  for (const m of r.notEnforced) o.onWarning?.(`pod cgroup: ${m}`);
  return dir;
}

/** shareProcessNamespace: a PID namespace whose pid 1 is a tiny reaper
 * (podrun-monitor pod-init) in the pod cgroup's `sandbox` child, so rm's
 * cgroup kill ends it with the pod. Returns the namespace's path. */
async function startPodInit(rec: PodRecord, root: string, podCgroupDir: string | null, userns?: string): Promise<string> {
  // without a cgroup nothing would end the pod's processes with it (rootlessErrors refuses shareProcessNamespace then)
  if (podCgroupDir === null) throw new PodrunError('EHOST', 'spec.shareProcessNamespace: the pod has no cgroup');
  const cg = sandboxCgroup(podCgroupDir);
  // a user-namespaced pod's PID namespace is made inside its user namespace, so its containers may mount its /proc
  const r = await runChild(monitorPath(), ['pod-init', cg, ...(userns ? ['--userns', userns] : [])]);
  const pid = Number(r.stdout.toString().trim());
  if (r.code !== 0 || !(pid > 0)) throw new PodrunError('EHOST', `shareProcessNamespace: starting the pod's init failed: ${(r.stderr.toString() || r.error?.message || `exit ${r.code}`).trim()}`);
  rec.podInit = { pid, startTime: processStartTime(pid) };
  writePod(root, rec);
  return `/proc/${pid}/ns/pid`;
}

/** Promise.all that waits for every promise before rejecting with the first failure. */
async function settleAll<T>(ps: Promise<T>[]): Promise<T[]> {
  const rs = await Promise.allSettled(ps);
  const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The rotation of the pod's container logs, kubelet's defaults where the options are silent;
 * errors name the options as `names` spells them (the CLI's flags). */
export function podLogRotation(
  o: Pick<PodOptions, 'containerLogMaxSize' | 'containerLogMaxFiles'>,
  names = { maxSize: 'containerLogMaxSize', maxFiles: 'containerLogMaxFiles' },
): LogRotation {
  return checkLogRotation({
    maxSize: o.containerLogMaxSize === undefined ? DEFAULT_LOG_ROTATION.maxSize : parseQuantity(o.containerLogMaxSize, names.maxSize),
    maxFiles: o.containerLogMaxFiles ?? DEFAULT_LOG_ROTATION.maxFiles,
  }, names);
}

/** How a new pod's sandbox is made, beyond its manifest. */
export interface SandboxOptions {
  /** why an existing pod stops this one being made, if it does (default: the same name and namespace) */
  conflict?: (existing: PodRecord) => string | undefined;
  /** the pod cgroup's parent below the cgroup2 mount (default podrun.slice): the pod's is <parent>/pod-<id> */
  cgroupParent?: string;
  /** CNI port mappings (default: the manifest's ports[].hostPort) */
  portMappings?: Array<PortMapping & { field: string }>;
  /** kept in the record for the front end that made the pod (CRI) */
  cri?: Record<string, unknown>;
  /** hostUsers: false with the range its client chose (kubelet allocates one per pod), not one podrun allocates */
  userns?: IdRange;
}

/** A pod whose sandbox is up: namespaces pinned, cgroup, monitor, network, /etc files. */
export interface PodSandbox {
  rec: PodRecord;
  sandbox: SandboxRecord;
  monitor: SharedMonitor;
  podIP?: string;
  /** settles when the pod's network is ready, where it is still being set up (pasta): containers start after it */
  networkReady?: Promise<void>;
}

const sameName = (pod: PodManifest) => (p: PodRecord): string | undefined =>
  p.name === pod.metadata.name && p.namespace === (pod.metadata.namespace ?? 'default') ? `pod ${p.name} already exists (podrun rm ${p.name} first)` : undefined;

/** Make a pod's record and sandbox; on failure nothing of it is left. */
export async function createPodSandbox(pod: PodManifest, o: PodOptions, s: SandboxOptions = {}): Promise<PodSandbox> {
  const id = nativeFs().randomHex(6);
  const namespace = pod.metadata.namespace ?? 'default';
  const rec: PodRecord = {
    id, name: pod.metadata.name, namespace, created: new Date().toISOString(), manifest: pod, containers: [],
    dataDir: podDataDir(o.dataRoot, id), tmpfsVolumes: [], starter: { pid: process.pid, startTime: processStartTime(process.pid) },
    ...(o.owner ? { owner: o.owner } : {}),
    ...(s.cgroupParent ? { cgroup: `${s.cgroupParent}/pod-${id}` } : {}), ...(s.cri ? { cri: s.cri } : {}),
  };
  const conflict = s.conflict ?? sameName(pod);
  await traced('sandbox: record', () => withFileLock(path.join(o.root, 'pods.lock'), async () => {
    const pods = listPods(o.root);
    for (const p of pods) {
      const why = conflict(p);
      if (why) throw new PodrunError('EEXIST', why);
    }
    // a range no other pod's user namespace has; freed with the record
    if (s.userns) rec.userns = s.userns;
    else if (pod.spec.hostUsers === false) rec.userns = allocateIdRange(pods.flatMap((p) => (p.userns ? [p.userns] : [])), o.userNamespaces);
    fs.mkdirSync(podDir(o.root, id), { recursive: true, mode: 0o700 });
    writeDataDirOwner(rec.dataDir, o.root);
    writePod(o.root, rec); // from here on, rm/gc can clean up whatever follows
  }));
  let monitorStarting: Promise<unknown> = Promise.resolve();
  let sandboxMaking: Promise<unknown> = Promise.resolve();
  let podInitStarting: Promise<unknown> = Promise.resolve();
  let networkAttaching: Promise<unknown> = Promise.resolve();
  try {
    const dir = podDir(o.root, id);
    // the namespaces are made by a child while the cgroup and the monitor are set up
    const sandbox = traced('sandbox: namespaces', () => createSandbox(path.join(dir, 'ns'), pod, rec.userns));
    sandboxMaking = sandbox.catch(() => undefined);
    const podCgroupDir = tracedSync('sandbox: cgroup', () => applyPodLimits(pod, rec, o));
    // the monitor starts while the network is attached
    const monitorReady = traced('sandbox: monitor', () => startPodMonitor(o.root, rec, podCgroupDir));
    monitorStarting = monitorReady.catch(() => undefined);
    // the shared PID namespace's init needs only the cgroup: it starts alongside too
    const podInit = pod.spec.shareProcessNamespace && !pod.spec.hostPID
      ? traced('sandbox: pod init', async () => startPodInit(rec, o.root, podCgroupDir, rec.userns ? (await sandbox).user : undefined))
      : undefined;
    podInitStarting = podInit?.catch(() => undefined) ?? podInitStarting;
    const namespaces = await sandbox;
    // CNI, the longest step, starts as soon as the network namespace is pinned
    const attaching = traced('sandbox: network', () => attachPodNetwork(pod, rec, namespaces.network, o, s.portMappings));
    networkAttaching = attaching.then((a) => a.ready).catch(() => undefined);
    if (podInit) namespaces.pid = await podInit;
    const shm = pod.spec.hostIPC ? '/dev/shm' : tracedSync('sandbox: shm', () => createPodShm(path.join(dir, 'ns')));
    const { podIPs: [podIP], ready: networkReady } = await attaching;
    // the CRI's RunPodSandbox answers with the network ready, as kubelet expects
    if (networkReady && s.cri) await networkReady;
    const etcFiles = tracedSync('sandbox: etc', () => writeEtcFiles(path.join(dir, 'etc'), pod, hostResolvConf(), podIP));
    // the pod's root owns its /etc files, as it would with the host's ids
    if (rec.userns) shiftOwners(path.join(dir, 'etc'), rec.userns);
    rec.sandbox = { namespaces, shm, etcFiles };
    writePod(o.root, rec);
    const monitor = await monitorReady;
    return { rec, sandbox: rec.sandbox, monitor, podIP, ...(networkReady ? { networkReady } : {}) };
  } catch (e) {
    await monitorStarting; // settled, so rm finds it (or knows it failed)
    await sandboxMaking; // and no child is still pinning namespaces behind rm's back
    await podInitStarting; // and the pod's init, if started, is recorded
    await networkAttaching; // and an ADD under way is in the CNI cache, for rm's DEL
    await removePod(o.root, id, { force: true, dataRoot: o.dataRoot }).catch(() => undefined);
    throw e;
  }
}

/** A built pod's sandbox as containers join it, from its record (another process may have built it). */
export function podSandboxOf(root: string, rec: PodRecord): PodSandbox {
  if (!rec.sandbox || !rec.monitor) throw new PodrunError('EINVALID_CONFIG', `pod ${rec.name}: its sandbox is not ready`);
  return { rec, sandbox: rec.sandbox, monitor: { dir: podDir(root, rec.id), ...rec.monitor }, podIP: rec.podIPs?.[0] };
}

/** Read, change and write a pod's record in one synchronous step (no other writer in this process can interleave). */
export function updatePod(root: string, id: string, change: (rec: PodRecord) => void): PodRecord {
  const rec = readPod(root, id);
  if (!rec) throw new PodrunError('ENOTFOUND', `pod ${id} does not exist`);
  change(rec);
  writePod(root, rec);
  return rec;
}

/** A container to add to a pod. */
export interface NewPodContainer {
  name: string;
  init: boolean;
  /** id in the pod's OCI state root (default <pod id>-<name>) */
  ociId?: string;
  /** where the image came from, as asked */
  imageName: string;
  image: ImageDetails;
  /** its config.json for the mounted rootfs (the image's /etc/passwd and /etc/group at hand) */
  config: (rootfs: string, files: { passwd?: string; group?: string }) => OciConfig;
  /** its CRI log (default: <pod dir>/logs/<name>.log) */
  log?: string;
  logRotation?: LogRotation;
  /** restarted by the monitor (each run from a fresh writable layer) */
  restart?: Omit<RestartPolicy, 'freshRootfs'>;
  tty?: boolean;
  stdin?: 'open' | 'once';
  /** kept in its record (CRI) */
  cri?: Record<string, unknown>;
  /** what stops it, when not SIGTERM */
  stopSignal?: string;
  /** an error of the create, in the terms the user wrote (config: as far as it was built) */
  explain?: (e: unknown, config?: OciConfig) => unknown;
  onWarning?: (m: string) => void;
}

/** Create (not start) a container in a pod whose sandbox is up: its lease, overlay, bundle and OCI container. */
export async function createPodContainer(root: string, dataRoot: string, sb: PodSandbox, n: NewPodContainer): Promise<PodContainerRecord> {
  const { rec } = sb;
  const dir = podDir(root, rec.id);
  const cr: PodContainerRecord = {
    name: n.name, init: n.init, ociId: n.ociId ?? `${rec.id}-${n.name}`, image: n.imageName, imageId: n.image.id,
    rootfsDir: path.join(rec.dataDir, 'containers', n.name), bundle: path.join(dir, 'bundles', n.name),
    log: n.log ?? path.join(dir, 'logs', `${n.name}.log`), ...(n.cri ? { cri: n.cri } : {}), ...(n.stopSignal ? { stopSignal: n.stopSignal } : {}),
  };
  updatePod(root, rec.id, (r) => r.containers.push(cr)); // recorded first: rm removes whatever follows
  rec.containers.push(cr);
  writeLease(dataRoot, `pod-${rec.id}-${n.name}`, { image: n.image.id, blobs: [], layers: n.image.layers });
  let config: OciConfig | undefined;
  try {
    const { userns } = rec;
    // PODRUN_LAYER_IDMAP=copy: the fallback of kernels without idmapped mounts, chosen (to test it, or to avoid them)
    const idmap = userns && sb.sandbox.namespaces.user
      ? { userns: sb.sandbox.namespaces.user, uid: userns.uidBase, gid: userns.gidBase, size: userns.size, copy: process.env.PODRUN_LAYER_IDMAP === 'copy' }
      : undefined;
    const mounted = tracedSync('container: rootfs', () => mountRootfs(new ImageStore(dataRoot), n.image.layers, cr.rootfsDir, undefined, idmap));
    if (mounted.shiftedCopy) {
      n.onWarning?.(`spec.hostUsers: false: container ${n.name} runs on a copy of its image's layers with owners shifted into the pod's ids ` +
        `(${mounted.shiftedCopy}; idmapped mounts need kernel ≥ 5.19 on a file system that supports them): slower to start, more disk`);
    }
    const { rootfs } = mounted;
    config = n.config(rootfs, { passwd: readFileInRoot(rootfs, 'etc/passwd'), group: readFileInRoot(rootfs, 'etc/group') });
    const podCgroup = podCgroupOf(rec);
    if (podCgroup !== null) config.linux!.cgroupsPath = `/${podCgroup}/ctr-${n.name}`;
    // no cgroup: the pod's limits were said not enforced, by field, when its sandbox was made
    else delete config.linux!.resources;
    fs.mkdirSync(cr.bundle, { recursive: true });
    fs.mkdirSync(path.dirname(cr.log), { recursive: true });
    fs.writeFileSync(path.join(cr.bundle, 'config.json'), JSON.stringify(config, null, 2));
    await traced('container: oci create', () => createContainer({ config: config!, bundle: cr.bundle }, {
      id: cr.ociId, root: podOciRoot(root, rec.id), containerLog: cr.log, logRotation: n.logRotation, onWarning: n.onWarning, sharedMonitor: sb.monitor,
      // a tty's master goes to the pod's monitor, on a socket of its own: this path only marks the plan
      consoleSocket: n.tty ? path.join(cr.bundle, 'console.sock') : undefined,
      stdin: n.stdin,
      noCgroup: podCgroup === null,
      restart: n.restart && { ...n.restart, freshRootfs: { target: rootfs, upper: mounted.upper, work: mounted.work, options: mounted.options } },
    }));
    return cr;
  } catch (e) {
    throw n.explain ? n.explain(e, config) : e;
  }
}

async function removeContainerParts(root: string, dataRoot: string, podId: string, c: PodContainerRecord): Promise<void> {
  await deleteContainer(podOciRoot(root, podId), c.ociId, { force: true }).catch((e: PodrunError) => {
    if (e.code !== 'ENOTFOUND') throw e;
  });
  removeRootfs(c.rootfsDir);
  removeLease(dataRoot, `pod-${podId}-${c.name}`);
}

/** CNI DEL of a pod's attachment now (a CRI sandbox's stop), so its remove has none left to do. */
export async function detachPodNetworkOf(root: string, rec: PodRecord, dataRoot: string): Promise<void> {
  await detachPodNetwork(rec, dataRoot);
  updatePod(root, rec.id, (r) => delete r.network);
}

/** Remove one container of a pod (stopped, or killed with force): OCI state, overlay, lease, bundle, record. */
export async function removePodContainer(root: string, dataRoot: string, podId: string, name: string): Promise<void> {
  const c = readPod(root, podId)?.containers.find((x) => x.name === name);
  if (!c) return;
  await removeContainerParts(root, dataRoot, podId, c);
  fs.rmSync(c.bundle, { recursive: true, force: true });
  updatePod(root, podId, (r) => (r.containers = r.containers.filter((x) => x.name !== name)));
}

/** Start a pod from a validated manifest; resolves once its app containers run. */
export async function startPod(pod: PodManifest, o: PodOptions, objects: PodObjects = noObjects()): Promise<PodRecord> {
  // limits the host cannot enforce: one warning in the Pod's terms, not one per cgroup and OCI field
  const limits = limitWarnings(pod, o.onWarning);
  try {
    return await startPodWarned(pod, { ...o, onWarning: limits.onWarning }, objects);
  } finally {
    limits.flush();
  }
}

/** Whether /dev/mqueue is an mqueue mount in our mount namespace (what a rootless hostIPC container binds). */
function hostHasMqueue(): boolean {
  return mountPointsOfType(fs.readFileSync('/proc/self/mountinfo', 'utf8'), 'mqueue').includes('/dev/mqueue');
}

async function startPodWarned(pod: PodManifest, o: PodOptions, objects: PodObjects): Promise<PodRecord> {
  const missing = notYetImplemented(pod);
  if (missing.length > 0) throw new PodrunError('EINVALID_CONFIG', `not supported yet: ${missing.join(', ')}`, { field: missing[0] });
  const view = rootlessView();
  const refused = [
    ...rootlessErrors(pod, view, { ...o, hostMqueue: view !== null && pod.spec.hostIPC ? hostHasMqueue() : undefined, cgroup: view !== null ? !rootlessWithoutCgroup() : undefined }),
    ...(o.network === PASTA_NETWORK ? pastaErrors(portMappingsOf(pod), unprivilegedPortStart(), view !== null) : []),
  ];
  if (refused.length > 0) throw new PodrunError('EINVALID_CONFIG', refused.join('; '), { field: refused[0]!.split(':')[0] });
  const logRotation = podLogRotation(o);
  const sb = await createPodSandbox(pod, o);
  const { rec } = sb;
  const { id } = rec;
  try {
    const dir = podDir(o.root, id);
    const storage = fs.statfsSync(o.dataRoot);
    const allocatable: NodeAllocatable = { cpu: os.availableParallelism(), memory: os.totalmem(), 'ephemeral-storage': storage.blocks * storage.bsize };
    const volumes = makeVolumes(pod, rec, objects, allocatable);
    // hostUsers: false: the pod's root owns what podrun made for it (fsGroup's group shifted alike); the host's own
    // files (hostPath) are bound idmapped instead, never chowned
    if (rec.userns) for (const v of pod.spec.volumes ?? []) if (!v.hostPath && volumes[v.name]) shiftOwners(volumes[v.name], rec.userns);
    writePod(o.root, rec);
    const pulled = new Map<string, Promise<ImageDetails>>();
    const all = [
      ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, init: true, field: `spec.initContainers[${i}]` })),
      ...pod.spec.containers.map((c, i) => ({ c, init: false, field: `spec.containers[${i}]` })),
    ];
    const images = await Promise.all(all.map(({ c, field }) => ensureImage(c, field, o, pulled)));
    const ociRoot = podOciRoot(o.root, id);

    const configs = new Map<string, { k: { c: PodContainer; field: string }; config: OciConfig }>();
    /** a start's failure (the process exec'd then) in the Pod's terms */
    const start = async (ociId: string) => {
      await sb.networkReady; // (pasta) the network is there before any process of the pod runs
      return startOne(ociId);
    };
    const startOne = (ociId: string) => startCreated(ociRoot, ociId, { onWarning: o.onWarning }).catch((e: unknown) => {
      const made = configs.get(ociId);
      throw made ? inPodTerms(e, made.k.field, made.k.c, made.config) : e;
    });
    const { namespaces, etcFiles, shm } = sb.sandbox;
    const privileged = all.filter(({ c }) => c.securityContext?.privileged);
    const hostCapabilities = privileged.length ? heldCapabilities() : undefined;
    const hostDevs = privileged.length ? hostDevices() : undefined;
    const recursiveReadOnlyMounts = all.some(({ c }) => (c.volumeMounts ?? []).some((m) => m.recursiveReadOnly)) && recursiveMountAttributes();
    const withheld = ALL_CAPS.filter((x) => hostCapabilities && !hostCapabilities.includes(x));
    if (withheld.length) o.onWarning?.(`${privileged.map(({ field }) => `${field}.securityContext.privileged`).join(', ')}: this host withholds ${withheld.join(', ')} from podrun, so the container runs without ${withheld.length > 1 ? 'them' : 'it'}`);
    const create = (k: { c: PodContainer; init: boolean; field: string }, image: ImageDetails): Promise<PodContainerRecord> => createPodContainer(o.root, o.dataRoot, sb, {
      name: k.c.name, init: k.init, imageName: k.c.image, image, logRotation, onWarning: o.onWarning,
      // kubelet (through containerd) stops a container with its lifecycle.stopSignal, else its image's StopSignal
      stopSignal: k.c.lifecycle?.stopSignal ?? imageStopSignal(image, k.field, o.onWarning),
      tty: k.c.tty, stdin: k.c.stdin ? (k.c.stdinOnce ? 'once' : 'open') : undefined,
      // a sidecar is restarted whatever the pod's policy says; a one-shot init container on failure only
      restart: k.init && isSidecar(k.c) ? restartFor('Always', false, o.restartBackoffMs) : restartFor(pod.spec.restartPolicy, k.init, o.restartBackoffMs),
      config: (rootfs, files) => {
        const config = containerConfig({
          pod, container: k.c, field: k.field, rootfs, image: containerDefaults(image.config), ...files,
          namespaces, etcFiles, volumes, shm, podUid: id, podIP: sb.podIP, memoryQoS: qos(o), objects, hostCapabilities, hostDevices: hostDevs, nodeAllocatable: allocatable, recursiveReadOnlyMounts,
          readOnlyVolumes: (pod.spec.volumes ?? []).filter((v) => v.configMap || v.secret || v.downwardAPI || v.projected).map((v) => v.name),
          ...(rec.userns ? { userns: rec.userns, idmappedVolumes: (pod.spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name) } : {}),
          readSeccompProfile: (name) => {
            const dir = o.seccompProfileRoot ?? path.join(o.dataRoot, 'seccomp');
            const text = readFileInRoot(dir, name);
            if (text === undefined) throw new Error(`no profile ${name} in ${dir}`);
            return text;
          },
        });
        // validated as a runtime's config.json would be (image fields reach it), without reading the file back
        configs.set(`${id}-${k.c.name}`, { k, config });
        return config;
      },
      explain: (e, config) => (config ? inPodTerms(e, k.field, k.c, config) : e),
    });

    // init containers: one at a time, each to completion; a sidecar until it runs (and its postStart is done)
    const net = { netns: podNetns({ manifest: pod }, dir), podIP: sb.podIP };
    for (let i = 0; i < all.length; i++) {
      if (!all[i].init) continue;
      const cr = await create(all[i], images[i]);
      await start(cr.ociId);
      if (isSidecar(all[i].c)) {
        await postStart(pod, cr, ociRoot, dir, net, o.onWarning);
        await awaitSidecarStarted(all[i].c, { ociRoot, ociId: cr.ociId, outFile: path.join(dir, 'probes', `${cr.name}.startup`), ...net },
          { graceMs: (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000, preStopFile: path.join(dir, 'hooks', `${cr.name}.preStop`) }, o.onWarning);
        continue;
      }
      await waitExit(ociRoot, cr.ociId, Infinity, (exit, r) => o.onWarning?.(
        `init container ${cr.name} failed (${exit.exitCode !== null ? `exit ${exit.exitCode}` : `signal ${exit.signal}`}); restart ${r.count + 1} in ${Math.max(0, Math.round((r.nextAt! - Date.now()) / 100) / 10)} s`,
      ));
      const exit = containerStatus(ociRoot, readRecord(ociRoot, cr.ociId)!).exit;
      if (exit?.exitCode !== 0) {
        rec.failed = `init container ${cr.name} failed (exit ${exit?.exitCode ?? `signal ${exit?.signal}`})`;
        delete rec.starter;
        writePod(o.root, rec);
        return rec; // kept, Failed, for logs and inspect; rm removes it
      }
    }
    // app containers are created, then started, all at once (their monitors spawn in parallel); every
    // one settles before a failure rolls the pod back, so none is left half-made behind the rollback
    const apps = await settleAll(all.map((k, i) => (k.init ? undefined : create(k, images[i]))).filter((p): p is Promise<PodContainerRecord> => !!p));
    await settleAll(apps.map((cr) => start(cr.ociId)));
    await Promise.all(apps.map((cr) => postStart(pod, cr, ociRoot, dir, net, o.onWarning)));
    if (needsProber(rec)) startProber(o.root, rec);
    delete rec.starter;
    writePod(o.root, rec);
    return rec;
  } catch (e) {
    await sb.networkReady?.catch(() => undefined); // pasta, if still starting, has written its pid file for rm
    await removePod(o.root, id, { force: true, dataRoot: o.dataRoot }).catch(() => undefined);
    throw e;
  }
}

/** lifecycle.postStart: run in the container once it started; if the hook
 * fails the container is killed (its restartPolicy decides what follows), as
 * kubelet does. After a restart by the monitor, the pod's prober runs it. */
async function postStart(pod: PodManifest, cr: PodContainerRecord, ociRoot: string, dir: string, net: { netns?: string; podIP?: string }, warn?: (m: string) => void): Promise<void> {
  const c = specOf(pod, cr);
  const hook = c && hookAction(c, c.lifecycle?.postStart);
  if (!hook) return;
  const failed = await runPostStart(hook, { ociRoot, ociId: cr.ociId, outFile: path.join(dir, 'hooks', `${cr.name}.postStart`), ...net });
  if (failed) warn?.(`container ${cr.name}: ${failed}; killing the container (FailedPostStartHook)`);
}


/** An image's StopSignal, where the kernel knows it (a name, SIGRTMIN+3 style, or a number); else said and SIGTERM. */
function imageStopSignal(image: ImageDetails, field: string, warn?: (m: string) => void): string | undefined {
  const sig = image.config.config?.StopSignal;
  if (!sig) return undefined;
  try {
    parseSignal(sig);
    return sig;
  } catch {
    warn?.(`${field}.image: its StopSignal ${JSON.stringify(sig)} is no signal podrun knows; stopping it with SIGTERM`);
    return undefined;
  }
}

/** lifecycle.preStop of each running container, all at once, within the grace period. */
async function preStop(root: string, rec: PodRecord, running: PodContainerRecord[], deadline: number): Promise<void> {
  const ociRoot = podOciRoot(root, rec.id);
  const dir = podDir(root, rec.id);
  await Promise.all(running.map(async (cr) => {
    const c = specOf(rec.manifest, cr);
    const hook = c && hookAction(c, c.lifecycle?.preStop);
    if (!hook) return;
    const left = Math.max(0, deadline - Date.now());
    await runHook(hook, { ociRoot, ociId: cr.ociId, outFile: path.join(dir, 'hooks', `${cr.name}.preStop`), netns: podNetns(rec, dir), podIP: rec.podIPs?.[0] }, left);
  }));
}

/** The pod's containers that have not stopped (created, running, paused, or waiting to be restarted). */
function notStopped(ociRoot: string, rec: PodRecord): PodContainerRecord[] {
  return rec.containers.filter((c) => {
    const r = readRecord(ociRoot, c.ociId);
    if (!r) return false;
    if (containerStatus(ociRoot, r).status !== 'stopped') return true;
    return readRestarts(ociRoot, c.ociId).nextAt !== undefined && isSameProcess(r.monitorPid, r.monitorStartTime);
  });
}

/** No more restarts; SIGTERM every running container, wait up to the grace period, then SIGKILL. Sidecars after
 * the rest, one by one, last declared first (kubelet's order), within the same grace period. */
export async function stopPod(root: string, rec: PodRecord, graceSeconds?: number): Promise<void> {
  const ociRoot = podOciRoot(root, rec.id);
  stopProber(rec);
  await Promise.all(rec.containers.map((c) => cancelRestarts(ociRoot, c.ociId)));
  const grace = (graceSeconds ?? rec.manifest.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  if (grace === 0) return stopContainers(root, rec, notStopped(ociRoot, rec), 0);
  const end = Date.now() + grace;
  for (const group of stopOrder(rec.manifest, notStopped(ociRoot, rec))) await stopContainers(root, rec, group, Math.max(0, end - Date.now()));
}

/** preStop, SIGTERM, and SIGKILL what is left after `grace` ms (0: SIGKILL at once). */
async function stopContainers(root: string, rec: PodRecord, running: PodContainerRecord[], grace: number): Promise<void> {
  const ociRoot = podOciRoot(root, rec.id);
  if (grace > 0) {
    // preStop first, then SIGTERM; like kubelet, at least 2 s of grace remain for SIGTERM
    const start = Date.now();
    await preStop(root, rec, running, start + grace);
    grace = Math.max(2000, grace - (Date.now() - start));
  }
  for (const c of running) {
    try {
      // SIGTERM to the main process, as kubelet does; the SIGKILL after the grace period reaches them all
      killContainer(ociRoot, c.ociId, grace === 0 ? 'SIGKILL' : c.stopSignal ?? 'SIGTERM', { all: grace === 0 });
    } catch {
      /* already gone */
    }
  }
  const done = await Promise.all(running.map((c) => waitExit(ociRoot, c.ociId, grace)));
  running.forEach((c, i) => {
    if (!done[i]) {
      try {
        killContainer(ociRoot, c.ociId, 'SIGKILL', { all: true });
      } catch {
        /* raced with its exit */
      }
    }
  });
  await Promise.all(running.map((c) => waitExit(ociRoot, c.ociId, 10_000)));
}

/** Remove a pod and everything it made: containers, cgroups, overlays,
 * volumes, namespaces, leases, state. Refuses a running pod unless `force`. */
export async function removePod(root: string, id: string, o: { force?: boolean; dataRoot: string; onWarning?: (m: string) => void }): Promise<void> {
  const rec = readPod(root, id);
  if (!rec) {
    // a crash between mkdir and the first record: nothing but the dirs exists yet
    removeSandbox(path.join(podDir(root, id), 'ns'));
    fs.rmSync(podDir(root, id), { recursive: true, force: true });
    await removeOrphanData(o.dataRoot, id);
    return;
  }
  const ociRoot = podOciRoot(root, id);
  stopProber(rec);
  const running = notStopped(ociRoot, rec).length > 0;
  if (running && !o.force) throw new PodrunError('EINVALID_CONFIG', `pod ${rec.name} is running: stop it first or pass --force`);
  updatePod(root, id, (r) => (r.removing = true));
  if (running) await traced('rm: stop', () => stopPod(root, rec, 0));
  await traced('rm: containers', async () => {
    for (const c of rec.containers) await removeContainerParts(root, o.dataRoot, id, c);
  });
  // no cgroup to kill what a crash left unrecorded: the monitor's children are the containers' inits, each the
  // pid 1 of its own PID namespace, whose end ends the rest
  if (rec.noCgroup) killPodMonitorChildren(root, rec);
  await traced('rm: monitor', () => stopPodMonitor(root, rec));
  for (const v of rec.tmpfsVolumes) detachMount(v);
  try {
    await detachPodNetwork(rec, o.dataRoot);
  } catch (e) {
    // forced: the cached attachment stays, and gc retries the DEL
    if (!o.force) throw e;
    o.onWarning?.(`${(e as Error).message} (podrun gc retries)`);
  }
  const cg2 = hostCgroup2Mount();
  const podCgroup = podCgroupOf(rec);
  const podCg = cg2 && podCgroup !== null ? path.join(cg2, podCgroup) : undefined;
  if (podCg && fs.existsSync(podCg)) await traced('rm: cgroup', () => removeCgroup(podCg));
  pruneEmpty((rec.cgroupCreated ?? []).slice(0, -1)); // podrun.slice (or a CRI cgroup_parent), if this pod made it and it is empty now
  if (podCg) pruneMadeParents(path.dirname(podCg)); // or another pod made it and left first
  // whatever is still mounted below the data dir (a tmpfs volume a crash left unrecorded)
  for (const m of mountPointsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), rec.dataDir)) detachMount(m);
  fs.rmSync(rec.dataDir, { recursive: true, force: true });
  removeSandbox(path.join(podDir(root, id), 'ns'));
  fs.rmSync(podDir(root, id), { recursive: true, force: true });
}

