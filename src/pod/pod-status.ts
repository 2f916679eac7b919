/** A pod's status shaped like a Kubernetes Pod's `.status`. */
import { parseQuantity } from '../cgroup/kube-resources';
import { oomKills } from '../cgroup/stats';
import type { PodContainer, PodManifest } from './manifest-schema';
import { containerStatus } from '../oci/lifecycle/container-status';
import fs from 'node:fs';
import path from 'node:path';
import { containerDir, readLastExit, readRecord, readRestarts, type ExitRecord } from '../oci/lifecycle/state-store';
import { isSameProcess } from '../util/process-identity';
import { signalName } from '../oci/signals';
import { podOciRoot, startInterrupted, type PodContainerRecord, type PodRecord } from './pod-store';
import { isReady, probeSpecs } from './probe-state';
import { readProbes } from './prober';
import { isSidecar, specOf } from './sidecars';

const sidecarNames = (m: PodManifest): string[] => (m.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name);

export interface TerminatedState { exitCode: number; signal?: string; reason: 'Completed' | 'Error' | 'OOMKilled'; finishedAt: string }

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: TerminatedState };

export interface ContainerStatusReport {
  name: string;
  image: string;
  imageID: string;
  containerID: string;
  state: ContainerState;
  /** the previous run, for a restarted container */
  lastState?: { terminated: TerminatedState };
  ready: boolean;
  /** startupProbe passed (or there is none) and it runs */
  started?: boolean;
  /** podrun: the last time a liveness or startup probe gave up and killed it */
  lastProbeFailure?: string;
  restartCount: number;
}

export interface PodCondition {
  type: 'PodScheduled' | 'PodReadyToStartContainers' | 'Initialized' | 'ContainersReady' | 'Ready';
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface PodStatusReport {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** kubelet's short CamelCase word (DeadlineExceeded …); the words for people are in message */
  reason?: string;
  message?: string;
  conditions: PodCondition[];
  qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort';
  /** the node's address as the pod sees it: podrun's node is this host, as status.hostIP in env says */
  hostIP: string;
  hostIPs: Array<{ ip: string }>;
  /** the first of podIPs (absent for loopback-only and hostNetwork pods) */
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  startTime: string;
  initContainerStatuses: ContainerStatusReport[];
  containerStatuses: ContainerStatusReport[];
}

function terminatedState(exit: ExitRecord | undefined, oom: boolean): TerminatedState {
  const exitCode = exit ? (exit.exitCode ?? 128 + (exit.signal ?? 0)) : 137;
  return {
    exitCode,
    ...(exit?.signal ? { signal: signalName(exit.signal) ?? String(exit.signal) } : {}),
    reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
    finishedAt: new Date(exit?.finishedAt ?? Date.now()).toISOString(),
  };
}

/** A restarted container's current run began when its monitor wrote DIR/pid. */
function runStartedAt(ociRoot: string, id: string): string {
  try {
    return fs.statSync(path.join(containerDir(ociRoot, id), 'pid')).mtime.toISOString();
  } catch {
    return new Date().toISOString();
  }
}

function statusOf(root: string, pod: PodRecord, c: PodContainerRecord): ContainerStatusReport {
  const ociRoot = podOciRoot(root, pod.id);
  const rec = readRecord(ociRoot, c.ociId);
  let state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  const restarts = readRestarts(ociRoot, c.ociId);
  let last: TerminatedState | undefined;
  if (rec) {
    const { status, exit } = containerStatus(ociRoot, rec);
    const oom = oomKills(rec.cgroup) > 0; // counts every run: OOM of an earlier one marks this one too
    if (status === 'running' || status === 'paused') state = { running: { startedAt: restarts.count ? runStartedAt(ociRoot, c.ociId) : rec.created } };
    else if (status === 'stopped') {
      const monitorAlive = isSameProcess(rec.monitorPid, rec.monitorStartTime);
      // its monitor has not recorded the exit yet (a matter of milliseconds): still running, for a moment
      if (!exit && monitorAlive && restarts.nextAt === undefined) state = { running: { startedAt: rec.created } };
      // a restart is pending (or the monitor is launching it right now: no exit file for a moment)
      else if (restarts.nextAt !== undefined && monitorAlive) {
        const inS = Math.max(0, Math.round((restarts.nextAt - Date.now()) / 1000));
        state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${inS}s restarting failed container=${c.name}` } };
        if (exit) last = terminatedState(exit, oom);
      } else state = { terminated: terminatedState(exit, oom) };
    }
    const prev = readLastExit(ociRoot, c.ociId);
    if (!last && prev) last = terminatedState(prev, false);
  }
  // probes (if any) decide started/ready for the current run
  const spec = specOf(pod.manifest, c);
  const sidecar = !!spec && c.init && isSidecar(spec);
  const specs = spec ? probeSpecs(spec) : [];
  const probe = specs.length ? readProbes(root, pod.id)[c.name] : undefined;
  const current = probe && rec && probe.run === `${rec.pid}:${rec.pidStartTime}` ? probe : undefined;
  const running = 'running' in state;
  return {
    name: c.name, image: c.image, imageID: c.imageId, containerID: `podrun://${c.ociId}`, state,
    ...(last ? { lastState: { terminated: last } } : {}),
    ready: running && (specs.length ? isReady(specs, current) : true),
    ...(c.init && !sidecar ? {} : { started: running && (specs.some((s) => s.kind === 'startup') ? !!current?.started : true) }),
    restartCount: restarts.count,
    ...(probe?.lastKill ? { lastProbeFailure: probe.lastKill } : {}),
  };
}

export function podStatus(root: string, pod: PodRecord): PodStatusReport {
  // every container of the manifest, as kubelet reports them: those not made yet wait
  const report = (c: { name: string; image: string }, init: boolean): ContainerStatusReport => {
    const made = pod.containers.find((x) => x.name === c.name && x.init === init);
    return made ? statusOf(root, pod, made) : { name: c.name, image: c.image, imageID: '', containerID: '', state: { waiting: { reason: 'PodInitializing' } }, ready: false, restartCount: 0 };
  };
  const init = (pod.manifest.spec.initContainers ?? []).map((c) => report(c, true));
  // a CRI sandbox's containers are made one by one by its client: those it has
  const apps = pod.cri ? pod.containers.map((c) => statusOf(root, pod, c)) : pod.manifest.spec.containers.map((c) => report(c, false));
  let phase: PodStatusReport['phase'] = 'Pending';
  const terminated = (s: ContainerStatusReport) => ('terminated' in s.state ? s.state.terminated : undefined);
  const failed = pod.failed ?? (startInterrupted(pod) ? `podrun start (pid ${pod.starter?.pid}) died before the pod was up: podrun rm or podrun gc removes it` : undefined);
  if (failed) phase = 'Failed';
  else if (apps.length > 0 && apps.every((s) => terminated(s))) phase = apps.every((s) => terminated(s)?.exitCode === 0) ? 'Succeeded' : 'Failed';
  else if (apps.some((s) => 'running' in s.state || s.restartCount > 0 || ('waiting' in s.state && s.state.waiting.reason === 'CrashLoopBackOff'))) phase = 'Running';
  const ips = pod.podIPs?.length ? { podIP: pod.podIPs[0], podIPs: pod.podIPs.map((ip) => ({ ip })) } : {};
  return {
    phase, ...(failed ? splitFailure(failed) : {}), conditions: podConditions(pod.created, init, apps, sidecarNames(pod.manifest)), qosClass: qosClass(pod.manifest),
    hostIP: HOST_IP, hostIPs: [{ ip: HOST_IP }], ...ips, startTime: pod.created, initContainerStatuses: init, containerStatuses: apps,
  };
}

const HOST_IP = '127.0.0.1';

/** podrun's failure text as kubelet's reason (one word) and message */
export function splitFailure(text: string): { reason: string; message: string } {
  const m = /^([A-Z][A-Za-z]+): (.*)$/s.exec(text);
  if (m) return { reason: m[1], message: m[2] };
  if (text.startsWith('init container ')) return { reason: 'InitContainerFailed', message: text };
  if (text.startsWith('podrun start ')) return { reason: 'StartInterrupted', message: text };
  return { reason: 'Failed', message: text };
}

const latest = (times: Array<string | undefined>, fallback: string): string => times.filter((x): x is string => !!x).sort().pop() ?? fallback;
const startedAt = (s: ContainerStatusReport): string | undefined => ('running' in s.state ? s.state.running.startedAt : undefined);
const finishedAt = (s: ContainerStatusReport): string | undefined => ('terminated' in s.state ? s.state.terminated.finishedAt : undefined);

/** kubelet's pod conditions, their times from the containers' own */
export function podConditions(created: string, init: ContainerStatusReport[], apps: ContainerStatusReport[], sidecars: readonly string[] = []): PodCondition[] {
  const cond = (type: PodCondition['type'], ok: boolean, at: string, reason?: string, message?: string): PodCondition => ({
    type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: at, ...(ok || !reason ? {} : { reason, message }),
  });
  // an init container is done when it completed; a sidecar when it started (and its startup probe passed)
  const done = (s: ContainerStatusReport): boolean => (sidecars.includes(s.name) ? s.started === true : 'terminated' in s.state && s.state.terminated.exitCode === 0);
  const incomplete = init.filter((s) => !done(s)).map((s) => s.name);
  // the pod is ready when its app containers and its sidecars are
  const unready = [...apps, ...init.filter((s) => sidecars.includes(s.name))].filter((s) => !s.ready).map((s) => s.name);
  const readyAt = unready.length ? latest([...apps, ...init].map(finishedAt), created) : latest(apps.map(startedAt), created);
  const initializedAt = incomplete.length ? created : latest(init.map(finishedAt), created);
  const notReady = `containers with unready status: [${unready.join(' ')}]`;
  return [
    cond('PodReadyToStartContainers', true, created),
    cond('Initialized', incomplete.length === 0, initializedAt, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
    cond('Ready', unready.length === 0, readyAt, 'ContainersNotReady', notReady),
    cond('ContainersReady', unready.length === 0, readyAt, 'ContainersNotReady', notReady),
    cond('PodScheduled', true, created),
  ];
}

/** kubelet's QoS class: every container with equal cpu and memory requests and limits is Guaranteed, none with any is BestEffort */
export function qosClass(pod: PodManifest): PodStatusReport['qosClass'] {
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const asked = (c: PodContainer, kind: 'requests' | 'limits', r: string): string | number | undefined => c.resources?.[kind]?.[r];
  if (all.every((c) => ['cpu', 'memory'].every((r) => asked(c, 'requests', r) === undefined && asked(c, 'limits', r) === undefined))) return 'BestEffort';
  const same = (a: string | number | undefined, b: string | number | undefined): boolean => a !== undefined && b !== undefined && parseQuantity(a, '') === parseQuantity(b, '');
  // a request left out defaults to its limit (the API server's defaulting)
  if (all.every((c) => ['cpu', 'memory'].every((r) => asked(c, 'limits', r) !== undefined && same(asked(c, 'requests', r) ?? asked(c, 'limits', r), asked(c, 'limits', r))))) return 'Guaranteed';
  return 'Burstable';
}
