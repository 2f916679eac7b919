/** A pod's status shaped like a Kubernetes Pod's `.status`. */
import { oomKills } from '../cgroup/stats';
import { containerStatus } from '../oci/lifecycle/container-status';
import fs from 'node:fs';
import path from 'node:path';
import { containerDir, readLastExit, readRecord, readRestarts, type ExitRecord } from '../oci/lifecycle/state-store';
import { isSameProcess } from '../util/process-identity';
import { signalName } from '../oci/signals';
import { podOciRoot, startInterrupted, type PodContainerRecord, type PodRecord } from './pod-store';
import { isReady, probeSpecs } from './probe-state';
import { readProbes } from './prober';

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

export interface PodStatusReport {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  reason?: string;
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
  const spec = c.init ? undefined : pod.manifest.spec.containers.find((x) => x.name === c.name);
  const specs = spec ? probeSpecs(spec) : [];
  const probe = specs.length ? readProbes(root, pod.id)[c.name] : undefined;
  const current = probe && rec && probe.run === `${rec.pid}:${rec.pidStartTime}` ? probe : undefined;
  const running = 'running' in state;
  return {
    name: c.name, image: c.image, imageID: c.imageId, containerID: `podrun://${c.ociId}`, state,
    ...(last ? { lastState: { terminated: last } } : {}),
    ready: running && (specs.length ? isReady(specs, current) : true),
    ...(c.init ? {} : { started: running && (specs.some((s) => s.kind === 'startup') ? !!current?.started : true) }),
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
  return { phase, ...(failed ? { reason: failed } : {}), ...ips, startTime: pod.created, initContainerStatuses: init, containerStatuses: apps };
}
