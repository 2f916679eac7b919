/** Pod status events: what changed between two status reports (pure), and
 * a watcher that polls a pod and reports each change as it happens. */
import type { ContainerStatusReport, PodStatusReport } from './pod-status';

export type PodEvent =
  | { type: 'PhaseChanged'; phase: PodStatusReport['phase']; reason?: string }
  | { type: 'ContainerStarted'; container: string; restartCount: number }
  | { type: 'ContainerTerminated'; container: string; exitCode: number; reason: string }
  | { type: 'ContainerBackOff'; container: string; message?: string }
  | { type: 'ContainerReady'; container: string; ready: boolean }
  | { type: 'ProbeFailed'; container: string; message: string }
  /** the pod was removed (the watcher's last event) */
  | { type: 'Removed' };

const stateKey = (c: ContainerStatusReport): string => Object.keys(c.state)[0];

/** The events that lead from `prev` (undefined: the first look) to `next`. */
export function diffStatus(prev: PodStatusReport | undefined, next: PodStatusReport): PodEvent[] {
  const out: PodEvent[] = [];
  if (prev?.phase !== next.phase) out.push({ type: 'PhaseChanged', phase: next.phase, ...(next.reason ? { reason: next.reason } : {}) });
  const before = new Map([...(prev?.initContainerStatuses ?? []), ...(prev?.containerStatuses ?? [])].map((c) => [c.name, c]));
  for (const c of [...next.initContainerStatuses, ...next.containerStatuses]) {
    const p = before.get(c.name);
    const changed = !p || stateKey(p) !== stateKey(c) || p.restartCount !== c.restartCount;
    if (changed) {
      if ('running' in c.state) out.push({ type: 'ContainerStarted', container: c.name, restartCount: c.restartCount });
      else if ('terminated' in c.state) out.push({ type: 'ContainerTerminated', container: c.name, exitCode: c.state.terminated.exitCode, reason: c.state.terminated.reason });
      else if (c.state.waiting.reason === 'CrashLoopBackOff') {
        // the run that ended before the back-off
        if (c.lastState && (!p || !('terminated' in p.state))) out.push({ type: 'ContainerTerminated', container: c.name, exitCode: c.lastState.terminated.exitCode, reason: c.lastState.terminated.reason });
        out.push({ type: 'ContainerBackOff', container: c.name, message: c.state.waiting.message });
      }
    }
    if ((p?.ready ?? false) !== c.ready) out.push({ type: 'ContainerReady', container: c.name, ready: c.ready });
    if (c.lastProbeFailure && c.lastProbeFailure !== p?.lastProbeFailure) out.push({ type: 'ProbeFailed', container: c.name, message: c.lastProbeFailure });
  }
  return out;
}
