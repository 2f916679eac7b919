/** CRI RuntimeService on the pod library: a sandbox is a podrun pod
 * (pinned namespaces, no pause container), a CRI container one of its
 * containers. Everything is kept in the pod records, so the CLI sees these
 * pods and a restarted server finds them again; nothing is cached here but
 * the pod CIDR kubelet last sent. */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { applyResources } from '../cgroup/apply';
import { requireHostCgroup2Mount } from '../cgroup/mount';
import { mapResources } from '../cgroup/resources';
import { oomKills } from '../cgroup/stats';
import { PodrunError } from '../errors';
import { containerDefaults, rootfsPaths } from '../image';
import { nativeFs } from '../native';
import { loadNetworks, DEFAULT_CNI_CONF_DIR } from '../network';
import { askMonitor, execInContainer, killContainer, readRecord, startCreated } from '../oci/lifecycle';
import { containerDir } from '../oci/lifecycle/state-store';
import { containerStatus } from '../oci/lifecycle/container-status';
import { parseSignal } from '../oci/signals';
import { heldCapabilities, recursiveMountAttributes } from '../oci/host';
import { hostDevices } from '../oci/host-devices';
import type { PodOptions, PodRecord } from '../pod';
import { createPodContainer, createPodSandbox, detachPodNetworkOf, podSandboxOf, removePod, removePodContainer, stopPod, updatePod, waitExit } from '../pod/pod-lifecycle';
import { listPods, podCgroupOf, podDir, podOciRoot, type PodContainerRecord } from '../pod/pod-store';
import { isLocalDescendingPath } from '../util/in-root';
import { isSameProcess } from '../util/process-identity';
import type { CriConfig } from './config';
import { criContainerConfig, ociResources, type CriSandboxFacts } from './container-plan';
import type { CriImages } from './image-service';
import { containerMetrics, podMetrics } from './metrics';
import { CgroupSampler, diskUsage, networkUsage, processCount } from './stats';
import { invalidArgument, planSandbox, sandboxKey } from './sandbox-plan';
import type {
  ContainerConfig, ContainerMetadata, ContainerState, ImageSpec, LinuxContainerResources, Mount, NamespaceMode,
  PodSandboxConfig, PodSandboxMetadata, SandboxState, StringMap,
} from './types';
import { traced, tracedSync } from '../util/trace';

export const RUNTIME_NAME = 'podrun';
export const CRI_VERSION = 'v1';

/** what a sandbox's record keeps of its CRI request */
export interface CriSandboxInfo {
  metadata: PodSandboxMetadata;
  labels: StringMap;
  annotations: StringMap;
  logDirectory: string;
  /** unix ns, as a decimal string */
  createdAt: string;
  runtimeHandler: string;
  privileged: boolean;
  namespaces: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
  sysctls: StringMap;
  hostname: string;
  /** StopPodSandbox ran */
  stopped?: boolean;
}

/** what a container's record keeps of its CRI request */
export interface CriContainerInfo {
  id: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
  labels: StringMap;
  annotations: StringMap;
  logPath: string;
  createdAt: string;
  startedAt?: string;
  mounts: Mount[];
  resources: LinuxContainerResources | null;
  user: { uid: number; gid: number; additionalGids: number[] };
  stopSignal?: string;
  tty: boolean;
  stdin: boolean;
  /** a start that failed: why */
  startError?: string;
}

/** unix ns, monotonic within this process (kubelet orders a container's attempts by created_at) */
const EPOCH_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const nowNs = (): string => (EPOCH_NS + process.hrtime.bigint()).toString();
const msToNs = (ms: number): string => (BigInt(Math.round(ms)) * 1_000_000n).toString();

const sandboxInfo = (p: PodRecord): CriSandboxInfo => p.cri as unknown as CriSandboxInfo;
const containerInfo = (c: PodContainerRecord): CriContainerInfo => c.cri as unknown as CriContainerInfo;

const labelsMatch = (labels: StringMap, selector: StringMap | undefined): boolean => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

function notFound(what: string): PodrunError {
  return new PodrunError('ENOTFOUND', `${what} not found`);
}

export class CriRuntime {
  podCidr = '';
  readonly #sampler = new CgroupSampler();
  /** CRI container events (GetContainerEvents): each is a ContainerEventResponse */
  readonly events = new EventEmitter();

  constructor(
    private readonly root: string,
    private readonly dataRoot: string,
    private readonly config: CriConfig,
    private readonly images: CriImages,
  ) {}

  private get cniConfDir(): string {
    return this.config.cni?.confDir ?? DEFAULT_CNI_CONF_DIR;
  }

  /** The network pods join: the configured one, or the first in the conf dir (as containerd). */
  networkName(): string | undefined {
    if (this.config.cni?.network) return this.config.cni.network;
    return loadNetworks(this.cniConfDir).networks[0]?.network.name;
  }

  private podOptions(network?: string): PodOptions {
    return { root: this.root, dataRoot: this.dataRoot, network, cniConfDir: this.cniConfDir, cniBinDirs: this.config.cni?.binDirs };
  }

  // ---- lookup ---------------------------------------------------------------

  sandboxes(): PodRecord[] {
    return listPods(this.root).filter((p) => p.cri);
  }

  /** A sandbox by id or unique id prefix. */
  findSandbox(id: string, field = 'pod_sandbox_id'): PodRecord | undefined {
    if (!id) throw invalidArgument(field, 'required');
    const all = this.sandboxes();
    const exact = all.find((p) => p.id === id);
    if (exact) return exact;
    const hits = all.filter((p) => p.id.startsWith(id));
    if (hits.length > 1) throw invalidArgument(field, `${id} is ambiguous`);
    return hits[0];
  }

  /** A container by id or unique id prefix, with its sandbox. */
  findContainer(id: string, field = 'container_id'): { pod: PodRecord; c: PodContainerRecord } | undefined {
    if (!id) throw invalidArgument(field, 'required');
    const hits: Array<{ pod: PodRecord; c: PodContainerRecord }> = [];
    for (const pod of this.sandboxes()) {
      for (const c of pod.containers) {
        if (!c.cri) continue;
        if (c.ociId === id) return { pod, c };
        if (c.ociId.startsWith(id)) hits.push({ pod, c });
      }
    }
    if (hits.length > 1) throw invalidArgument(field, `${id} is ambiguous`);
    return hits[0];
  }

  // ---- sandboxes ------------------------------------------------------------

  async runPodSandbox(config: PodSandboxConfig | null, runtimeHandler: string): Promise<string> {
    const plan = tracedSync('cri: plan sandbox', () => planSandbox(config));
    if (runtimeHandler && runtimeHandler !== RUNTIME_NAME) throw invalidArgument('runtime_handler', `unknown runtime handler ${JSON.stringify(runtimeHandler)} (podrun offers "" and "${RUNTIME_NAME}")`);
    const meta = config!.metadata!;
    const key = sandboxKey(meta);
    const info: CriSandboxInfo = {
      metadata: { name: meta.name, uid: meta.uid, namespace: meta.namespace, attempt: meta.attempt },
      labels: config!.labels, annotations: config!.annotations, logDirectory: config!.log_directory, createdAt: nowNs(),
      runtimeHandler, privileged: plan.privileged, namespaces: plan.namespaces, sysctls: config!.linux?.sysctls ?? {},
      hostname: plan.pod.spec.hostname ?? meta.name,
    };
    const network = plan.pod.spec.hostNetwork ? undefined : this.networkName();
    const sb = await traced('cri: createPodSandbox', () => createPodSandbox(plan.pod, this.podOptions(network), {
      conflict: (p) => (p.cri && sandboxKey(sandboxInfo(p).metadata) === key ? `sandbox name ${JSON.stringify(key)} is reserved for ${p.id}` : undefined),
      cgroupParent: plan.cgroupParent,
      portMappings: plan.portMappings,
      userns: plan.userns,
      cri: info as unknown as Record<string, unknown>,
    }));
    updatePod(this.root, sb.rec.id, (r) => delete r.starter);
    return sb.rec.id;
  }

  /** Every container killed, the network detached; the sandbox stays (NOTREADY) until removed. Unknown ids: done. */
  async stopPodSandbox(id: string): Promise<void> {
    const pod = this.findSandbox(id);
    if (!pod) return;
    await stopPod(this.root, pod, 0);
    await detachPodNetworkOf(this.root, pod, this.dataRoot);
    updatePod(this.root, pod.id, (r) => ((r.cri as unknown as CriSandboxInfo).stopped = true));
  }

  async removePodSandbox(id: string): Promise<void> {
    const pod = this.findSandbox(id);
    if (!pod) return;
    await removePod(this.root, pod.id, { force: true, dataRoot: this.dataRoot });
  }

  sandboxState(pod: PodRecord): SandboxState {
    const info = sandboxInfo(pod);
    const monitorAlive = !!pod.monitor && isSameProcess(pod.monitor.pid, pod.monitor.startTime);
    return !info.stopped && !pod.starter && !!pod.sandbox && monitorAlive ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
  }

  podSandboxStatus(id: string, verbose: boolean): Record<string, unknown> {
    const pod = this.findSandbox(id);
    if (!pod) throw notFound(`pod sandbox ${id}`);
    const info = sandboxInfo(pod);
    const ips = pod.podIPs ?? [];
    return {
      status: {
        id: pod.id, metadata: info.metadata, state: this.sandboxState(pod), created_at: info.createdAt,
        network: { ip: ips[0] ?? '', additional_ips: ips.slice(1).map((ip) => ({ ip })) },
        linux: { namespaces: { options: { network: info.namespaces.network, pid: info.namespaces.pid, ipc: info.namespaces.ipc } } },
        labels: info.labels, annotations: info.annotations, runtime_handler: info.runtimeHandler,
      },
      info: verbose ? { info: JSON.stringify({ id: pod.id, monitorPid: pod.monitor?.pid, podInitPid: pod.podInit?.pid, cgroup: pod.cgroup, namespaces: pod.sandbox?.namespaces, network: pod.network, podIPs: ips }) } : {},
      containers_statuses: [],
      timestamp: nowNs(),
    };
  }

  listPodSandbox(filter: { id: string; state: { state: SandboxState } | null; label_selector: StringMap } | null): Array<Record<string, unknown>> {
    return this.sandboxes()
      .filter((p) => !filter?.id || p.id.startsWith(filter.id))
      .map((p) => ({ p, state: this.sandboxState(p), info: sandboxInfo(p) }))
      .filter(({ state, info }) => (!filter?.state || filter.state.state === state) && labelsMatch(info.labels, filter?.label_selector))
      .map(({ p, state, info }) => ({
        id: p.id, metadata: info.metadata, state, created_at: info.createdAt, labels: info.labels, annotations: info.annotations, runtime_handler: info.runtimeHandler,
      }));
  }

  // ---- containers -----------------------------------------------------------

  async createContainer(sandboxId: string, config: ContainerConfig | null): Promise<string> {
    if (!config) throw invalidArgument('config', 'required');
    const meta = config.metadata;
    if (!meta?.name) throw invalidArgument('config.metadata.name', 'required');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/.test(meta.name)) throw invalidArgument('config.metadata.name', `${JSON.stringify(meta.name)}: letters, digits, '_', '.' and '-' only`);
    const pod = this.findSandbox(sandboxId);
    if (!pod) throw notFound(`pod sandbox ${sandboxId}`);
    if (this.sandboxState(pod) !== 'SANDBOX_READY') throw new PodrunError('EINVALID_CONFIG', `pod sandbox ${pod.id} is not ready (stopped or being made)`);
    const image = this.images.find(config.image, 'config.image');
    if (!image) throw notFound(`image ${config.image!.image} (pull it first)`);
    const sbInfo = sandboxInfo(pod);
    const name = `${meta.name}_${meta.attempt}`;
    const taken = pod.containers.find((c) => c.name === name);
    if (taken) throw new PodrunError('EEXIST', `container name ${JSON.stringify(`${meta.name}_${sbInfo.metadata.name}_${sbInfo.metadata.namespace}_${sbInfo.metadata.uid}_${meta.attempt}`)} is reserved for ${taken.ociId}`);
    const id = nativeFs().randomHex(32);
    const sb = podSandboxOf(this.root, pod);
    const facts: CriSandboxFacts = {
      id: pod.id, name: sbInfo.metadata.name, namespace: sbInfo.metadata.namespace, uid: sbInfo.metadata.uid, hostname: sbInfo.hostname,
      namespaces: sb.sandbox.namespaces, hostNetwork: sbInfo.namespaces.network === 'NODE', hostIPC: sbInfo.namespaces.ipc === 'NODE',
      privileged: sbInfo.privileged, sysctls: sbInfo.sysctls, etcFiles: sb.sandbox.etcFiles, shm: sb.sandbox.shm,
      ...(pod.userns ? { userns: pod.userns } : {}),
    };
    // containerd makes a missing host path a directory (what dockershim did)
    for (const m of config.mounts) if (m.host_path.startsWith('/') && !fs.existsSync(m.host_path)) fs.mkdirSync(m.host_path, { recursive: true });
    // the log stays below the sandbox's log directory (kubelet's <pod>/<container>/<n>.log)
    if (config.log_path && !isLocalDescendingPath(config.log_path)) throw invalidArgument('config.log_path', `${JSON.stringify(config.log_path)} must be relative to the sandbox's log_directory, without ".."`);
    const logPath = config.log_path && sbInfo.logDirectory ? path.join(sbInfo.logDirectory, config.log_path) : '';
    const info: CriContainerInfo = {
      id, metadata: { name: meta.name, attempt: meta.attempt }, image: config.image!, imageRef: image.id,
      labels: config.labels, annotations: config.annotations, logPath, createdAt: nowNs(), mounts: config.mounts,
      resources: config.linux?.resources ?? null, user: { uid: 0, gid: 0, additionalGids: [] },
      stopSignal: image.config.config?.StopSignal, tty: config.tty, stdin: config.stdin,
    };
    const sc = config.linux?.security_context;
    const targetPidNamespace = sc?.namespace_options?.pid === 'TARGET' ? this.targetPidNamespace(pod, sc.namespace_options.target_id) : undefined;
    try {
      await createPodContainer(this.root, this.dataRoot, sb, {
        name, init: false, ociId: id, imageName: config.image!.image, image,
        log: logPath || undefined,
        tty: config.tty, stdin: config.stdin ? (config.stdin_once ? 'once' : 'open') : undefined,
        cri: info as unknown as Record<string, unknown>,
        config: (rootfs, files) => {
          const c = criContainerConfig({
            id, config, sandbox: facts, rootfs, image: containerDefaults(image.config), imageName: config.image!.image, ...files,
            targetPidNamespace, statDevice, readProfile: (f) => fs.readFileSync(f, 'utf8'),
            defaultSeccomp: this.config.defaultSeccomp === 'RuntimeDefault' ? 'runtime-default' : 'unconfined',
            selinuxEnabled: fs.existsSync('/sys/fs/selinux/enforce'), recursiveReadOnlyMounts: recursiveMountAttributes(),
            hostCapabilities: heldCapabilities(), hostDevices: config.linux?.security_context?.privileged ? hostDevices() : undefined,
            minOomScoreAdj: this.config.restrictOomScoreAdj ? Number(fs.readFileSync('/proc/self/oom_score_adj', 'utf8')) : undefined,
          });
          info.user = { uid: c.process!.user.uid, gid: c.process!.user.gid, additionalGids: c.process!.user.additionalGids ?? [] };
          return c;
        },
      });
      updatePod(this.root, pod.id, (r) => {
        const c = r.containers.find((x) => x.ociId === id);
        if (c) c.cri = info as unknown as Record<string, unknown>; // with the user the config resolved
      });
    } catch (e) {
      await removePodContainer(this.root, this.dataRoot, pod.id, name).catch(() => undefined);
      throw e;
    }
    return id;
  }

  private targetPidNamespace(pod: PodRecord, targetId: string): string {
    const t = pod.containers.find((c) => c.ociId === targetId);
    const rec = t && readRecord(podOciRoot(this.root, pod.id), t.ociId);
    if (!rec?.pid || !isSameProcess(rec.pid, rec.pidStartTime)) {
      throw invalidArgument('config.linux.security_context.namespace_options.target_id', `${targetId} is not a running container of sandbox ${pod.id}`);
    }
    return `/proc/${rec.pid}/ns/pid`;
  }

  containerState(pod: PodRecord, c: PodContainerRecord): { state: ContainerState; exitCode: number; finishedAt: string; reason: string; pid?: number } {
    const ociRoot = podOciRoot(this.root, pod.id);
    const rec = readRecord(ociRoot, c.ociId);
    const info = containerInfo(c);
    if (!rec) return { state: info.startError ? 'CONTAINER_EXITED' : 'CONTAINER_UNKNOWN', exitCode: info.startError ? 128 : 0, finishedAt: '0', reason: info.startError ? 'StartError' : '' };
    const { status, exit } = containerStatus(ociRoot, rec);
    if (status === 'creating') return { state: 'CONTAINER_UNKNOWN', exitCode: 0, finishedAt: '0', reason: '' };
    if (status === 'created') return { state: 'CONTAINER_CREATED', exitCode: 0, finishedAt: '0', reason: '' };
    if (status === 'running' || status === 'paused') return { state: 'CONTAINER_RUNNING', exitCode: 0, finishedAt: '0', reason: '', pid: rec.pid };
    if (info.startError) return { state: 'CONTAINER_EXITED', exitCode: 128, finishedAt: exit ? msToNs(exit.finishedAt) : nowNs(), reason: 'StartError' };
    const exitCode = exit ? (exit.exitCode ?? 128 + (exit.signal ?? 0)) : 137;
    const reason = oomKills(rec.cgroup) > 0 ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
    return { state: 'CONTAINER_EXITED', exitCode, finishedAt: exit ? msToNs(exit.finishedAt) : nowNs(), reason };
  }

  async startContainer(id: string): Promise<void> {
    const found = this.findContainer(id);
    if (!found) throw notFound(`container ${id}`);
    const { pod, c } = found;
    const st = this.containerState(pod, c);
    if (st.state !== 'CONTAINER_CREATED') throw new PodrunError('EINVALID_CONFIG', `container ${c.ociId} is ${st.state}, not CONTAINER_CREATED`);
    const info = containerInfo(c);
    try {
      await startCreated(podOciRoot(this.root, pod.id), c.ociId);
      info.startedAt = nowNs();
    } catch (e) {
      info.startError = (e as Error).message;
      throw e;
    } finally {
      updatePod(this.root, pod.id, (r) => {
        const x = r.containers.find((y) => y.ociId === c.ociId);
        if (x) x.cri = info as unknown as Record<string, unknown>;
      });
    }
  }

  /** The image's stop signal (else SIGTERM), then SIGKILL after `timeout` s. Unknown or stopped: done. */
  async stopContainer(id: string, timeoutS: number): Promise<void> {
    const found = this.findContainer(id);
    if (!found) return;
    const { pod, c } = found;
    const ociRoot = podOciRoot(this.root, pod.id);
    if (this.containerState(pod, c).state !== 'CONTAINER_RUNNING') return;
    const sig = containerInfo(c).stopSignal;
    const signal = timeoutS > 0 ? (sig && validSignal(sig) ? sig : 'SIGTERM') : 'SIGKILL';
    try {
      killContainer(ociRoot, c.ociId, signal, { all: signal === 'SIGKILL' });
    } catch {
      /* it exited meanwhile */
    }
    if (signal !== 'SIGKILL' && !(await waitExit(ociRoot, c.ociId, timeoutS * 1000))) {
      try {
        killContainer(ociRoot, c.ociId, 'SIGKILL', { all: true });
      } catch {
        /* raced with its exit */
      }
    }
    await waitExit(ociRoot, c.ociId, 10_000);
  }

  async removeContainer(id: string): Promise<void> {
    const found = this.findContainer(id);
    if (!found) return;
    await this.stopContainer(id, 0);
    await removePodContainer(this.root, this.dataRoot, found.pod.id, found.c.name);
  }

  /** The CRI containers a filter (ListContainers' or ListContainerStats') selects, with their pods and states. */
  #selectContainers(filter: { id?: string; pod_sandbox_id?: string; label_selector?: StringMap; state?: { state: ContainerState } | null } | null): Array<{ pod: PodRecord; c: PodContainerRecord; info: CriContainerInfo; state: ContainerState }> {
    const out: Array<{ pod: PodRecord; c: PodContainerRecord; info: CriContainerInfo; state: ContainerState }> = [];
    for (const pod of this.sandboxes()) {
      if (filter?.pod_sandbox_id && !pod.id.startsWith(filter.pod_sandbox_id)) continue;
      for (const c of pod.containers) {
        if (!c.cri || (filter?.id && !c.ociId.startsWith(filter.id))) continue;
        const info = containerInfo(c);
        if (!labelsMatch(info.labels, filter?.label_selector)) continue;
        const { state } = this.containerState(pod, c);
        if (filter?.state && filter.state.state !== state) continue;
        out.push({ pod, c, info, state });
      }
    }
    return out;
  }

  listContainers(filter: { id: string; state: { state: ContainerState } | null; pod_sandbox_id: string; label_selector: StringMap } | null): Array<Record<string, unknown>> {
    return this.#selectContainers(filter).map(({ pod, c, info, state }) => ({
      id: c.ociId, pod_sandbox_id: pod.id, metadata: info.metadata, image: info.image, image_ref: info.imageRef, image_id: info.imageRef,
      state, created_at: info.createdAt, labels: info.labels, annotations: info.annotations,
    }));
  }

  containerStatus(id: string, verbose: boolean): Record<string, unknown> {
    const found = this.findContainer(id);
    if (!found) throw notFound(`container ${id}`);
    const { pod, c } = found;
    const info = containerInfo(c);
    const st = this.containerState(pod, c);
    return {
      status: {
        id: c.ociId, metadata: info.metadata, state: st.state, created_at: info.createdAt,
        started_at: info.startedAt ?? '0', finished_at: st.finishedAt, exit_code: st.exitCode,
        image: info.image, image_ref: info.imageRef, image_id: info.imageRef, reason: st.reason, message: info.startError ?? '',
        labels: info.labels, annotations: info.annotations, mounts: info.mounts, log_path: info.logPath,
        resources: info.resources ? { linux: info.resources } : null,
        // the primary group is among them, as containerd reports it
        user: { linux: { uid: info.user.uid, gid: info.user.gid, supplemental_groups: [...new Set([info.user.gid, ...info.user.additionalGids])] } },
      },
      info: verbose ? { info: JSON.stringify({ sandboxID: pod.id, pid: st.pid ?? 0, bundle: c.bundle, rootfs: c.rootfsDir, runtimeSpec: readSpec(c.bundle) }) } : {},
    };
  }

  /** New limits on the container's cgroup (and in its record); a limit this host cannot enforce is an error. */
  async updateContainerResources(id: string, resources: LinuxContainerResources | null): Promise<void> {
    const found = this.findContainer(id);
    if (!found) throw notFound(`container ${id}`);
    if (!resources) return;
    const { pod, c } = found;
    const rec = readRecord(podOciRoot(this.root, pod.id), c.ociId);
    if (!rec) throw notFound(`container ${id}`);
    const { writes, unmappable } = mapResources(ociResources(resources));
    const r = applyResources(requireHostCgroup2Mount(), rec.cgroup, writes, unmappable);
    if (r.notEnforced.length) throw new PodrunError('EHOST', `linux: ${r.notEnforced.join('; ')}`);
    updatePod(this.root, pod.id, (p) => {
      const x = p.containers.find((y) => y.ociId === c.ociId);
      if (x) (x.cri as unknown as CriContainerInfo).resources = resources;
    });
  }

  // ---- events ---------------------------------------------------------------

  /** last seen state of each sandbox and container (and the sandbox's status, for its DELETED event) */
  #seen = new Map<string, { state: string; pod: string; sandboxStatus: unknown }>();
  #watch?: NodeJS.Timeout;

  /** Start (or stop, with no listener left) watching for transitions; called when listeners come and go. */
  watchEvents(): void {
    const listening = this.events.listenerCount('event') > 0;
    if (listening && !this.#watch) {
      this.#seen = this.#snapshot();
      this.#watch = setInterval(() => this.emitTransitions(), 500);
    } else if (!listening && this.#watch) {
      clearInterval(this.#watch);
      this.#watch = undefined;
    }
  }

  #snapshot(): Map<string, { state: string; pod: string; sandboxStatus: unknown }> {
    const now = new Map<string, { state: string; pod: string; sandboxStatus: unknown }>();
    for (const pod of this.sandboxes()) {
      const sandboxStatus = this.podSandboxStatus(pod.id, false).status;
      now.set(pod.id, { state: this.sandboxState(pod), pod: pod.id, sandboxStatus });
      for (const c of pod.containers) if (c.cri) now.set(c.ociId, { state: this.containerState(pod, c).state, pod: pod.id, sandboxStatus });
    }
    return now;
  }

  /** Compare with what was seen: created / started / stopped / deleted, for sandboxes and containers (kubelet's evented PLEG). */
  emitTransitions(): void {
    if (!this.#watch) return;
    let now;
    try {
      now = this.#snapshot();
    } catch {
      return; // a record mid-write: next time
    }
    const send = (id: string, type: string, pod: string, sandboxStatus: unknown): void => {
      const p = this.findSandbox(pod);
      this.events.emit('event', {
        container_id: id, container_event_type: type, created_at: nowNs(), pod_sandbox_status: sandboxStatus,
        containers_statuses: p ? p.containers.filter((c) => c.cri).map((c) => this.containerStatus(c.ociId, false).status) : [],
      });
    };
    // each step between what was seen and what is, in order (a container may have run and exited between two looks)
    const STEPS = ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT'];
    const rank = (id: string, state: string | undefined): number => {
      if (state === undefined) return -1;
      if (id === now.get(id)?.pod) return state === 'SANDBOX_READY' ? 1 : 2; // a sandbox is made ready (or fails) at once
      return { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2 }[state] ?? -1;
    };
    for (const [id, cur] of now) {
      const from = rank(id, this.#seen.get(id)?.state);
      const to = rank(id, cur.state);
      for (let r = from + 1; r <= to; r++) send(id, STEPS[r], cur.pod, cur.sandboxStatus);
    }
    for (const [id, old] of this.#seen) if (!now.has(id)) send(id, 'CONTAINER_DELETED_EVENT', old.pod, old.sandboxStatus);
    this.#seen = now;
  }

  /** kubelet renamed the log to rotate it: the container's monitor opens a new file at its path. */
  async reopenContainerLog(id: string): Promise<void> {
    const found = this.findContainer(id);
    if (!found) throw notFound(`container ${id}`);
    const { pod, c } = found;
    if (this.containerState(pod, c).state !== 'CONTAINER_RUNNING') throw new PodrunError('EINVALID_CONFIG', `container ${c.ociId} is not running`);
    const reply = await askMonitor(containerDir(podOciRoot(this.root, pod.id), c.ociId), 'reopen-log');
    if (!reply.ok) throw new PodrunError('EINTERNAL', `reopening the log of ${c.ociId}: ${reply.error?.message}`);
  }

  containerStats(id: string): Record<string, unknown> {
    const found = this.findContainer(id);
    if (!found) throw notFound(`container ${id}`);
    return containerStatsOf(this.#sampler, this.root, found.pod, found.c);
  }

  listContainerStats(filter: { id: string; pod_sandbox_id: string; label_selector: StringMap } | null): Array<Record<string, unknown>> {
    // the containers ListContainers would give, running or created (kubelet asks for all)
    return this.#selectContainers(filter).filter((x) => x.state !== 'CONTAINER_EXITED').map(({ pod, c }) => containerStatsOf(this.#sampler, this.root, pod, c));
  }

  podSandboxStats(id: string): Record<string, unknown> {
    const pod = this.findSandbox(id);
    if (!pod) throw notFound(`pod sandbox ${id}`);
    return this.#podStats(pod).stats;
  }

  /** A sandbox's CRI stats, and the container records its container stats came from (in the same order). */
  #podStats(pod: PodRecord): { stats: Record<string, unknown>; running: PodContainerRecord[] } {
    const info = sandboxInfo(pod);
    const cg2 = requireHostCgroup2Mount();
    const cgroup = podCgroupOf(pod);
    const dir = cgroup === null ? '' : path.join(cg2, cgroup);
    const s = this.#sampler.read(dir);
    const running = pod.containers.map((c) => ({ c, st: this.containerState(pod, c) })).filter((x) => x.st.state === 'CONTAINER_RUNNING');
    // a process in the pod's network namespace shows its counters; none runs: no figures
    const inNetns = running[0]?.st.pid ?? pod.podInit?.pid;
    let network: Record<string, unknown> | null = null;
    if (inNetns && info.namespaces.network === 'POD') {
      try {
        network = networkUsage(fs.readFileSync(`/proc/${inNetns}/net/dev`, 'utf8'), s.now);
      } catch {
        /* it exited meanwhile */
      }
    }
    const stats = {
      attributes: { id: pod.id, metadata: info.metadata, labels: info.labels, annotations: info.annotations },
      linux: {
        cpu: s.cpu, memory: s.memory, network,
        process: { timestamp: s.now.toString(), process_count: { value: String(processCount(dir, s.stats)) } },
        containers: running.map(({ c }) => containerStatsOf(this.#sampler, this.root, pod, c)),
      },
    };
    return { stats, running: running.map(({ c }) => c) };
  }

  /** READY sandboxes a filter selects (ListPodSandboxStats, ListPodSandboxMetrics). */
  #readySandboxes(filter: { id: string; label_selector: StringMap } | null): PodRecord[] {
    return this.sandboxes().filter((p) => (!filter?.id || p.id.startsWith(filter.id)) && this.sandboxState(p) === 'SANDBOX_READY' && labelsMatch(sandboxInfo(p).labels, filter?.label_selector));
  }

  listPodSandboxStats(filter: { id: string; label_selector: StringMap } | null): Array<Record<string, unknown>> {
    return this.#readySandboxes(filter).map((p) => this.#podStats(p).stats);
  }

  /** cAdvisor-named metrics of every READY sandbox and its running containers (ListPodSandboxMetrics). */
  listPodSandboxMetrics(): Array<Record<string, unknown>> {
    return this.#readySandboxes(null).map((p) => {
      const { stats, running } = this.#podStats(p);
      const containers = (stats.linux as { containers: Array<Parameters<typeof containerMetrics>[0]> }).containers;
      return {
        pod_sandbox_id: p.id,
        metrics: podMetrics(stats as Parameters<typeof podMetrics>[0]),
        container_metrics: containers.map((cs, i) => ({ container_id: cs.attributes.id, metrics: containerMetrics(cs, running[i].image) })),
      };
    });
  }

  /** Run cmd in the container; its stdout and stderr apart, killed at the timeout (seconds, 0: none). */
  async execSync(id: string, cmd: string[], timeoutS: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    if (!cmd.length) throw invalidArgument('cmd', 'required');
    const found = this.findContainer(id);
    if (!found) throw notFound(`container ${id}`);
    const { pod, c } = found;
    const ociRoot = podOciRoot(this.root, pod.id);
    const dir = fs.mkdtempSync(path.join(podDir(this.root, pod.id), 'exec-'));
    const out = fs.openSync(path.join(dir, 'stdout'), 'w+', 0o600);
    const err = fs.openSync(path.join(dir, 'stderr'), 'w+', 0o600);
    const stdin = fs.openSync('/dev/null', 'r');
    const pidFile = path.join(dir, 'pid');
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      const run = execInContainer(c.ociId, { root: ociRoot, args: cmd, stdinFd: stdin, stdoutFd: out, stderrFd: err, pidFile });
      if (timeoutS > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          try {
            process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
          } catch {
            /* not started yet, or gone */
          }
        }, timeoutS * 1000);
      }
      const r = await run;
      if (timedOut) throw new PodrunError('EINTERNAL', `command ${JSON.stringify(cmd)} timed out after ${timeoutS} s`, { cause: 'timeout' });
      return { stdout: fs.readFileSync(path.join(dir, 'stdout')), stderr: fs.readFileSync(path.join(dir, 'stderr')), exitCode: r.status ?? 137 };
    } finally {
      clearTimeout(timer);
      for (const fd of [out, err, stdin]) fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** the running container's writable layer and its cgroup, as CRI ContainerStats */
function containerStatsOf(sampler: CgroupSampler, root: string, pod: PodRecord, c: PodContainerRecord): Record<string, unknown> {
  const info = containerInfo(c);
  const rec = readRecord(podOciRoot(root, pod.id), c.ociId);
  const s = rec ? sampler.read(rec.cgroup) : undefined;
  const disk = diskUsage(rootfsPaths(c.rootfsDir).upper);
  const now = s?.now ?? BigInt(Date.now()) * 1_000_000n;
  return {
    attributes: { id: c.ociId, metadata: info.metadata, labels: info.labels, annotations: info.annotations },
    cpu: s?.cpu ?? { timestamp: now.toString(), usage_core_nano_seconds: null, usage_nano_cores: null },
    memory: s?.memory ?? { timestamp: now.toString() },
    writable_layer: { timestamp: now.toString(), fs_id: { mountpoint: c.rootfsDir }, used_bytes: { value: String(disk.bytes) }, inodes_used: { value: String(disk.inodes) } },
  };
}

function validSignal(s: string): boolean {
  try {
    parseSignal(s);
    return true;
  } catch {
    return false;
  }
}

function readSpec(bundle: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function statDevice(p: string): ReturnType<Parameters<typeof criContainerConfig>[0]['statDevice']> {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st || !(st.isCharacterDevice() || st.isBlockDevice())) return undefined;
  return { type: st.isCharacterDevice() ? 'c' : 'b', major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00), mode: st.mode, uid: st.uid, gid: st.gid };
}

