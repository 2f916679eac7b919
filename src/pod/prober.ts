/** The prober of a pod with probes or an activeDeadlineSeconds: a small
 * detached process (`podrun probe-pod ID`, started by `start`, ended by
 * `stop`/`rm` or when the pod is gone) that runs each container's probes
 * (exec, tcpSocket, httpGet) on their schedule, runs postStart again when a
 * container was restarted, kills a container whose liveness or startup
 * probe gives up (its monitor restarts it per restartPolicy), publishes
 * started/ready in probes.json, and stops the pod at its deadline. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../native';
import { readRecord, readRestarts } from '../oci/lifecycle';
import { containerStatus } from '../oci/lifecycle/container-status';
import { VOLATILE, writeFileAtomic } from '../util/atomic-file';
import { isSameProcess, processStartTime } from '../util/process-identity';
import { hookAction, killGracefully, runPostStart, type HookAction } from './lifecycle-handler';
import type { PodContainer } from './manifest-schema';
import { runProbeAction } from './probe-action';
import { applyResult, dueProbes, initialState, probeSent, probeSpecs, type ContainerProbeState, type ProbeSpec } from './probe-state';
import { podDir, podNetns, podOciRoot, readPod, writePod, type PodRecord } from './pod-store';
import { isSidecar, sidecarsOf, specOf } from './sidecars';
import { limitedEmptyDirs, overLimit, VOLUME_CHECK_PERIOD_MS } from './volume-usage';

/** What podStatus reads: per container, the state of its current run. */
export interface PublishedProbe extends ContainerProbeState {
  /** "pid:starttime" of the run this state is about */
  run: string;
  /** the last time a probe gave up and killed it */
  lastKill?: string;
}

export const probesFile = (root: string, id: string): string => path.join(podDir(root, id), 'probes.json');

export function readProbes(root: string, id: string): Record<string, PublishedProbe> {
  try {
    return JSON.parse(fs.readFileSync(probesFile(root, id), 'utf8')) as Record<string, PublishedProbe>;
  } catch {
    return {};
  }
}

/** kubelet runs postStart on every start of a container: the first by `start`, those after a restart here (a
 * sidecar restarts whatever the pod's restartPolicy) */
const restartHook = (rec: PodRecord, c: PodContainer): HookAction | undefined =>
  rec.manifest.spec.restartPolicy !== 'Never' || isSidecar(c) ? hookAction(c, c.lifecycle?.postStart) : undefined;

/** The containers the prober looks after: the app containers and the sidecars. */
const probed = (rec: PodRecord): PodContainer[] => [...rec.manifest.spec.containers, ...(rec.manifest.spec.initContainers ?? []).filter(isSidecar)];

export const needsProber = (rec: PodRecord): boolean =>
  rec.manifest.spec.activeDeadlineSeconds !== undefined || limitedEmptyDirs(rec.manifest).length > 0 || probed(rec).some((c) => probeSpecs(c).length > 0 || restartHook(rec, c)) ||
  // the sidecars of a pod whose app containers can all complete are ended once they have
  (rec.manifest.spec.restartPolicy !== undefined && rec.manifest.spec.restartPolicy !== 'Always' && (rec.manifest.spec.initContainers ?? []).some(isSidecar));

/** Spawn the pod's prober, detached; its pid goes in the record. */
export function startProber(root: string, rec: PodRecord): void {
  // node itself is not to load the extra CAs (see bin/podrun): a prober verifies no certificate (HTTPS probes are
  // unverified, as kubelet's), and lives long
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: undefined };
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'podrun.js'), '--runroot', root, 'probe-pod', rec.id], { detached: true, stdio: 'ignore', env });
  child.unref();
  if (!child.pid) return;
  rec.prober = { pid: child.pid, startTime: processStartTime(child.pid) };
  writePod(root, rec);
}

export function stopProber(rec: PodRecord): void {
  if (rec.prober && rec.prober.pid !== process.pid && isSameProcess(rec.prober.pid, rec.prober.startTime)) {
    try {
      process.kill(rec.prober.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

/** Every app container has exited for good (no restart pending). */
function finished(ociRoot: string, rec: PodRecord): boolean {
  return rec.containers.filter((c) => !c.init).every((c) => {
    const r = readRecord(ociRoot, c.ociId);
    return !!r && containerStatus(ociRoot, r).exit !== undefined && readRestarts(ociRoot, c.ociId).nextAt === undefined;
  });
}

interface Tracked {
  name: string;
  ociId: string;
  specs: ProbeSpec[];
  /** lifecycle.postStart, to run after each restart */
  postStart?: HookAction;
  /** lifecycle.preStop, run before a probe's kill */
  preStop?: HookAction;
  /** what the kill sends first */
  stopSignal?: string;
  /** the restart count whose postStart ran (0: the first start's, run by `start`) */
  hooked: number;
  run?: string;
  runStart: number;
  state: ContainerProbeState;
  lastKill?: string;
  busy: Set<string>;
}

/** The prober's loop; returns when the pod is gone or `signal` aborts.
 * `stop` ends the pod at its activeDeadlineSeconds (injected: it is the pod
 * lifecycle's stop, which imports this module). */
export async function runProber(root: string, id: string, signal: AbortSignal | undefined, stop: (rec: PodRecord, graceSeconds?: number) => Promise<void>): Promise<void> {
  const rec = readPod(root, id);
  if (!rec) return;
  const deadlineS = rec.manifest.spec.activeDeadlineSeconds;
  const deadline = deadlineS === undefined ? Infinity : Date.parse(rec.created) + deadlineS * 1000;
  const ociRoot = podOciRoot(root, id);
  const podGraceMs = (rec.manifest.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  const limited = limitedEmptyDirs(rec.manifest);
  let nextVolumeCheck = 0;
  const netns = podNetns(rec, podDir(root, id));
  const sidecars = sidecarsOf(rec.manifest, rec.containers);
  const tracked: Tracked[] = rec.containers.filter((c) => !c.init || sidecars.includes(c)).flatMap((c) => {
    const spec = specOf(rec.manifest, c);
    const specs = spec ? probeSpecs(spec) : [];
    const postStart = spec && restartHook(rec, spec);
    const preStop = spec && hookAction(spec, spec.lifecycle?.preStop);
    return specs.length || postStart ? [{ name: c.name, ociId: c.ociId, specs, postStart, preStop, stopSignal: c.stopSignal, hooked: 0, runStart: 0, state: initialState(specs), busy: new Set<string>() }] : [];
  });
  let dirty = true;
  const publish = (): void => {
    const doc: Record<string, PublishedProbe> = {};
    for (const t of tracked) if (t.run) doc[t.name] = { ...t.state, run: t.run, ...(t.lastKill ? { lastKill: t.lastKill } : {}) };
    writeFileAtomic(probesFile(root, id), JSON.stringify(doc), 0o600, VOLATILE);
    dirty = false;
  };
  while (!signal?.aborted && fs.existsSync(path.join(podDir(root, id), 'pod.json'))) {
    const now = Date.now();
    for (const t of tracked) {
      const r = readRecord(ociRoot, t.ociId);
      if (!r || containerStatus(ociRoot, r).status !== 'running') continue;
      const run = `${r.pid}:${r.pidStartTime}`;
      if (run !== t.run) {
        t.run = run; // a new run (first start or a restart): probes start over
        t.runStart = now;
        t.state = initialState(t.specs);
        dirty = true;
      }
      const restarts = t.postStart ? readRestarts(ociRoot, t.ociId).count : 0;
      if (t.postStart && restarts > t.hooked && !t.busy.has('postStart')) {
        // a restarted container: its postStart, as kubelet runs it on every start; a failing one kills it
        t.hooked = restarts;
        t.busy.add('postStart');
        const target = { ociRoot, ociId: t.ociId, outFile: path.join(podDir(root, id), 'hooks', `${t.name}.postStart`), netns, podIP: rec.podIPs?.[0] };
        void runPostStart(t.postStart, target, () => t.run === run).then((failed) => {
          t.busy.delete('postStart');
          if (!failed) return;
          t.lastKill = `${failed} (FailedPostStartHook)`;
          dirty = true;
        });
      }
      for (const spec of dueProbes(t.specs, t.state, t.runStart, now)) {
        if (t.busy.has(spec.kind)) continue;
        t.busy.add(spec.kind);
        t.state = probeSent(t.state, spec.kind, now);
        const target = { ociRoot, ociId: t.ociId, outFile: path.join(podDir(root, id), 'probes', `${t.name}.${spec.kind}`), netns, podIP: rec.podIPs?.[0] };
        void runProbeAction(spec.action, target, spec.timeoutMs).then(({ ok, why }) => {
          t.busy.delete(spec.kind);
          if (t.run !== run) return; // a result about a run that is over
          const { state, kill } = applyResult(spec, t.state, ok, Date.now(), why);
          t.state = state;
          dirty = true;
          if (kill) {
            t.lastKill = kill;
            // as kubelet: the container's preStop, SIGTERM, SIGKILL after the probe's grace (else the pod's)
            const preStop = t.preStop && { action: t.preStop, outFile: path.join(podDir(root, id), 'hooks', `${t.name}.preStop`) };
            void killGracefully(target, preStop, spec.graceMs ?? podGraceMs, t.stopSignal);
          }
        });
      }
    }
    if (dirty) publish();
    if (finished(ociRoot, rec)) {
      // every app container is done for good (a Job's pod): its sidecars are ended now, in their order, as kubelet
      const cur = readPod(root, id);
      if (cur && sidecars.some((s) => { const r = readRecord(ociRoot, s.ociId); return !!r && containerStatus(ociRoot, r).status !== 'stopped'; })) await stop(cur);
      return; // nothing left to probe, and a finished pod has no deadline
    }
    // a disk emptyDir over its sizeLimit: the pod is evicted, as kubelet's eviction manager does
    if (limited.length && now >= nextVolumeCheck) {
      nextVolumeCheck = now + VOLUME_CHECK_PERIOD_MS;
      const over = overLimit(path.join(rec.dataDir, 'volumes'), limited);
      const cur = over ? readPod(root, id) : undefined;
      if (cur && !cur.failed) {
        cur.failed = over;
        writePod(root, cur);
        await stop(cur, 0); // kubelet evicts for local storage without a grace period
        return;
      }
    }
    if (now >= deadline) {
      const cur = readPod(root, id);
      if (cur && !cur.failed) {
        cur.failed = `DeadlineExceeded: the pod was active longer than its activeDeadlineSeconds (${deadlineS} s)`;
        writePod(root, cur);
        await stop(cur);
      }
      return;
    }
    await sleep(100);
  }
}
