/** Pod lifecycle: start (sandbox, images, volumes, init containers in
 * order, then every app container), stop (SIGTERM, grace, SIGKILL) and
 * remove. Each container goes through the OCI layer (create + start under
 * the pod's one podrun-monitor, which keeps their CRI logs, exit codes and
 * restarts). A failed start is rolled back by the same code `rm` uses. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyResources } from '../cgroup/apply';
import { containerResources, parseQuantity, podResources, type MemoryQoS } from '../cgroup/kube-resources';
import { cgroupDirsToCreate, createCgroup, pruneEmpty, pruneMadeParents, removeCgroup } from '../cgroup/lifecycle';
import { mapResources } from '../cgroup/resources';
import { hostCgroup2Mount, mountPointsUnder, requireHostCgroup2Mount } from '../cgroup/mount';
import { PodrunError } from '../errors';
import { containerDefaults, ImageStore, mountRootfs, pullImage, removeLease, removeRootfs, writeLease } from '../image';
import { findImage, type ImageDetails } from '../image/images';
import { detachMount, monitorPath, nativeFs } from '../native';
import { MS } from '../oci/mount-options';
import {
  cancelRestarts, createContainer, deleteContainer, killContainer, readRecord, readRestarts, startCreated,
  checkLogRotation, DEFAULT_LOG_ROTATION, type ExitRecord, type LogRotation, type OverlayMount, type RestartPolicy, type RestartRecord,
} from '../oci/lifecycle';
import { containerStatus } from '../oci/lifecycle/container-status';
import { readFileInRoot } from '../util/in-root';
import { isSameProcess, processStartTime } from '../util/process-identity';
import { withFileLock } from '../util/file-lock';
import { containerConfig } from './container-spec';
import { prepareHostPath } from './host-path';
import { inPodTerms } from './launch-field';
import type { OciConfig } from '../oci/spec-schema';
import { runExecHandler, runPostStart } from './exec-handler';
import { needsProber, startProber, stopProber } from './prober';
import { sandboxCgroup, startPodMonitor, stopPodMonitor } from './pod-monitor';
import { notYetImplemented } from './manifest';
import type { PodContainer, PodManifest } from './manifest-schema';
import { podDataDir, removeOrphanData, writeDataDirOwner } from './pod-data-dir';
import { noObjects, writeObjectVolume, type PodObjects } from './pod-objects';
import { attachPodNetwork, detachPodNetwork, type PodNetworkOptions } from './pod-network';
import { podCgroup, podDir, podOciRoot, listPods, readPod, writePod, type PodContainerRecord, type PodRecord } from './pod-store';
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
        const img = await pullImage(c.image, { dataRoot: o.dataRoot, insecure: o.insecure });
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

function makeVolumes(pod: PodManifest, rec: PodRecord, objects: PodObjects): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, v] of (pod.spec.volumes ?? []).entries()) {
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
    out[v.name] = dir;
  }
  return out;
}

/** Until the container has exited for good: its monitor recorded the exit
 * and has no restart pending, or the monitor is gone. Reports each failed
 * run that is going to be restarted. */
async function waitExit(ociRoot: string, id: string, timeoutMs = Infinity, onRestart?: (exit: ExitRecord, r: RestartRecord) => void): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  let seen = -1;
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
    await sleep(20);
  }
}

const qos = (o: { memoryQoS?: boolean }): MemoryQoS | undefined => (o.memoryQoS ? { nodeAllocatable: os.totalmem() } : undefined);

/** The pod cgroup, with kubelet's pod-level limits (sums of the app
 * containers', only when every one is bounded); containers nest below it.
 * Returns its directory. */
function applyPodLimits(pod: PodManifest, rec: PodRecord, o: PodOptions): string {
  const cg2 = requireHostCgroup2Mount();
  const dir = path.join(cg2, podCgroup(rec.id));
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
function startPodInit(rec: PodRecord, root: string, podCgroupDir: string): string {
  const cg = sandboxCgroup(podCgroupDir);
  const r = spawnSync(monitorPath(), ['pod-init', cg], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim());
  if (r.status !== 0 || !(pid > 0)) throw new PodrunError('EHOST', `shareProcessNamespace: starting the pod's init failed: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
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

/** Start a pod from a validated manifest; resolves once its app containers run. */
export async function startPod(pod: PodManifest, o: PodOptions, objects: PodObjects = noObjects()): Promise<PodRecord> {
  const missing = notYetImplemented(pod);
  if (missing.length > 0) throw new PodrunError('EINVALID_CONFIG', `not supported yet: ${missing.join(', ')}`, { field: missing[0] });
  const logRotation = podLogRotation(o);
  const id = nativeFs().randomHex(6);
  const namespace = pod.metadata.namespace ?? 'default';
  const rec: PodRecord = {
    id, name: pod.metadata.name, namespace, created: new Date().toISOString(), manifest: pod, containers: [],
    dataDir: podDataDir(o.dataRoot, id), tmpfsVolumes: [], starter: { pid: process.pid, startTime: processStartTime(process.pid) },
  };
  await withFileLock(path.join(o.root, 'pods.lock'), async () => {
    if (listPods(o.root).some((p) => p.name === rec.name && p.namespace === namespace)) {
      throw new PodrunError('EEXIST', `pod ${rec.name} already exists (podrun rm ${rec.name} first)`);
    }
    fs.mkdirSync(podDir(o.root, id), { recursive: true, mode: 0o700 });
    writeDataDirOwner(rec.dataDir, o.root);
    writePod(o.root, rec); // from here on, rm/gc can clean up whatever follows
  });
  let monitorStarting: Promise<unknown> = Promise.resolve();
  let sandboxMaking: Promise<unknown> = Promise.resolve();
  try {
    const dir = podDir(o.root, id);
    // the namespaces are made by a child while the cgroup and the monitor are set up
    const sandbox = createSandbox(path.join(dir, 'ns'), pod);
    sandboxMaking = sandbox.catch(() => undefined);
    const podCgroupDir = applyPodLimits(pod, rec, o);
    // the monitor starts while the network, volumes and images are prepared
    const monitorReady = startPodMonitor(o.root, rec, podCgroupDir);
    monitorStarting = monitorReady.catch(() => undefined);
    const namespaces = await sandbox;
    if (pod.spec.shareProcessNamespace && !pod.spec.hostPID) namespaces.pid = startPodInit(rec, o.root, podCgroupDir);
    const shm = pod.spec.hostIPC ? '/dev/shm' : createPodShm(path.join(dir, 'ns'));
    const [podIP] = await attachPodNetwork(pod, rec, namespaces.network, o);
    const etcFiles = writeEtcFiles(path.join(dir, 'etc'), pod, hostResolvConf(), podIP);
    const volumes = makeVolumes(pod, rec, objects);
    writePod(o.root, rec);
    const pulled = new Map<string, Promise<ImageDetails>>();
    const all = [
      ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, init: true, field: `spec.initContainers[${i}]` })),
      ...pod.spec.containers.map((c, i) => ({ c, init: false, field: `spec.containers[${i}]` })),
    ];
    const images = await Promise.all(all.map(({ c, field }) => ensureImage(c, field, o, pulled)));
    const store = new ImageStore(o.dataRoot);
    const ociRoot = podOciRoot(o.root, id);
    const sharedMonitor = await monitorReady;

    const configs = new Map<string, { k: { c: PodContainer; field: string }; config: OciConfig }>();
    /** a start's failure (the process exec'd then) in the Pod's terms */
    const start = (ociId: string) => startCreated(ociRoot, ociId, { onWarning: o.onWarning }).catch((e: unknown) => {
      const made = configs.get(ociId);
      throw made ? inPodTerms(e, made.k.field, made.k.c, made.config) : e;
    });
    const create = async (k: { c: PodContainer; init: boolean; field: string }, image: ImageDetails): Promise<PodContainerRecord> => {
      const ctrDir = path.join(rec.dataDir, 'containers', k.c.name);
      const bundle = path.join(dir, 'bundles', k.c.name);
      const cr: PodContainerRecord = {
        name: k.c.name, init: k.init, ociId: `${id}-${k.c.name}`, image: k.c.image, imageId: image.id,
        rootfsDir: ctrDir, bundle, log: path.join(dir, 'logs', `${k.c.name}.log`),
      };
      rec.containers.push(cr);
      writeLease(o.dataRoot, `pod-${id}-${k.c.name}`, { image: image.id, blobs: [], layers: image.layers });
      writePod(o.root, rec);
      const mounted = mountRootfs(store, image.layers, ctrDir);
      const { rootfs } = mounted;
      const config = containerConfig({
        pod, container: k.c, field: k.field, rootfs, image: containerDefaults(image.config),
        passwd: readFileInRoot(rootfs, 'etc/passwd'), group: readFileInRoot(rootfs, 'etc/group'),
        namespaces, etcFiles, volumes, shm, podUid: id, podIP, memoryQoS: qos(o), objects,
        readOnlyVolumes: (pod.spec.volumes ?? []).filter((v) => v.configMap || v.secret).map((v) => v.name),
        readSeccompProfile: (name) => {
          const dir = o.seccompProfileRoot ?? path.join(o.dataRoot, 'seccomp');
          const text = readFileInRoot(dir, name);
          if (text === undefined) throw new Error(`no profile ${name} in ${dir}`);
          return text;
        },
      });
      config.linux!.cgroupsPath = `/${podCgroup(id)}/ctr-${k.c.name}`;
      fs.mkdirSync(bundle, { recursive: true });
      fs.mkdirSync(path.dirname(cr.log), { recursive: true });
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config, null, 2));
      // validated as a runtime's config.json would be (image fields reach it), without reading the file back
      configs.set(cr.ociId, { k, config });
      await createContainer({ config, bundle }, {
        id: cr.ociId, root: ociRoot, containerLog: cr.log, logRotation, onWarning: o.onWarning, sharedMonitor,
        // a tty's master goes to the pod's monitor, on a socket of its own: this path only marks the plan
        consoleSocket: k.c.tty ? path.join(bundle, 'console.sock') : undefined,
        stdin: k.c.stdin ? (k.c.stdinOnce ? 'once' : 'open') : undefined,
        restart: restartFor(pod.spec.restartPolicy, k.init, o.restartBackoffMs, { target: rootfs, upper: mounted.upper, work: mounted.work, options: mounted.options }),
      }).catch((e: unknown) => { throw inPodTerms(e, k.field, k.c, config); });
      return cr;
    };

    // init containers: one at a time, each to completion
    for (let i = 0; i < all.length; i++) {
      if (!all[i].init) continue;
      const cr = await create(all[i], images[i]);
      await start(cr.ociId);
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
    await Promise.all(apps.map((cr) => postStart(pod, cr, ociRoot, dir, o.onWarning)));
    if (needsProber(rec)) startProber(o.root, rec);
    delete rec.starter;
    writePod(o.root, rec);
    return rec;
  } catch (e) {
    await monitorStarting; // settled, so rm finds it (or knows it failed)
    await sandboxMaking; // and no child is still pinning namespaces behind rm's back
    await removePod(o.root, id, { force: true, dataRoot: o.dataRoot }).catch(() => undefined);
    throw e;
  }
}

/** lifecycle.postStart: run in the container once it started; if the hook
 * fails the container is killed (its restartPolicy decides what follows), as
 * kubelet does. After a restart by the monitor, the pod's prober runs it. */
async function postStart(pod: PodManifest, cr: PodContainerRecord, ociRoot: string, dir: string, warn?: (m: string) => void): Promise<void> {
  const cmd = pod.spec.containers.find((c) => c.name === cr.name)?.lifecycle?.postStart?.exec?.command;
  if (!cmd) return;
  const failed = await runPostStart(ociRoot, cr.ociId, cmd, path.join(dir, 'hooks', `${cr.name}.postStart`));
  if (failed) warn?.(`container ${cr.name}: ${failed}; killing the container (FailedPostStartHook)`);
}


/** lifecycle.preStop of each running container, all at once, within the grace period. */
async function preStop(root: string, rec: PodRecord, running: PodContainerRecord[], deadline: number): Promise<void> {
  const ociRoot = podOciRoot(root, rec.id);
  await Promise.all(running.map(async (cr) => {
    const cmd = rec.manifest.spec.containers.find((c) => c.name === cr.name)?.lifecycle?.preStop?.exec?.command;
    if (!cmd) return;
    const left = Math.max(0, deadline - Date.now());
    await runExecHandler(ociRoot, cr.ociId, cmd, path.join(podDir(root, rec.id), 'hooks', `${cr.name}.preStop`), left);
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

/** No more restarts; SIGTERM every running container, wait up to the grace period, then SIGKILL. */
export async function stopPod(root: string, rec: PodRecord, graceSeconds?: number): Promise<void> {
  const ociRoot = podOciRoot(root, rec.id);
  stopProber(rec);
  await Promise.all(rec.containers.map((c) => cancelRestarts(ociRoot, c.ociId)));
  const running = notStopped(ociRoot, rec);
  let grace = (graceSeconds ?? rec.manifest.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  if (grace > 0) {
    // preStop first, then SIGTERM; like kubelet, at least 2 s of grace remain for SIGTERM
    const start = Date.now();
    await preStop(root, rec, running, start + grace);
    grace = Math.max(2000, grace - (Date.now() - start));
  }
  for (const c of running) {
    try {
      // SIGTERM to the main process, as kubelet does; the SIGKILL after the grace period reaches them all
      killContainer(ociRoot, c.ociId, grace === 0 ? 'SIGKILL' : 'SIGTERM', { all: grace === 0 });
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
  if (running) await stopPod(root, rec, 0);
  for (const c of rec.containers) {
    await deleteContainer(ociRoot, c.ociId, { force: true }).catch((e: PodrunError) => {
      if (e.code !== 'ENOTFOUND') throw e;
    });
    removeRootfs(c.rootfsDir);
    removeLease(o.dataRoot, `pod-${id}-${c.name}`);
  }
  await stopPodMonitor(root, rec);
  for (const v of rec.tmpfsVolumes) detachMount(v);
  try {
    await detachPodNetwork(rec, o.dataRoot);
  } catch (e) {
    // forced: the cached attachment stays, and gc retries the DEL
    if (!o.force) throw e;
    o.onWarning?.(`${(e as Error).message} (podrun gc retries)`);
  }
  const cg2 = hostCgroup2Mount();
  if (cg2 && fs.existsSync(path.join(cg2, podCgroup(id)))) await removeCgroup(path.join(cg2, podCgroup(id)));
  pruneEmpty((rec.cgroupCreated ?? []).slice(0, -1)); // podrun.slice, if this pod made it and it is empty now
  if (cg2) pruneMadeParents(path.dirname(path.join(cg2, podCgroup(id)))); // or another pod made it and left first
  // whatever is still mounted below the data dir (a tmpfs volume a crash left unrecorded)
  for (const m of mountPointsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), rec.dataDir)) detachMount(m);
  fs.rmSync(rec.dataDir, { recursive: true, force: true });
  removeSandbox(path.join(podDir(root, id), 'ns'));
  fs.rmSync(podDir(root, id), { recursive: true, force: true });
}
