/** Kubernetes probe semantics as a pure state machine, one per container
 * run: startupProbe gates the others; liveness failing failureThreshold
 * times in a row kills the container (its restartPolicy decides the rest);
 * readiness sets `ready` after successThreshold successes and clears it
 * after failureThreshold failures. */
import type { PodContainer } from './manifest-schema';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** What a probe does: run a command in the container, or connect (tcpSocket) or GET (httpGet) in the pod's network. */
export type ProbeAction =
  | { type: 'exec'; command: string[] }
  | { type: 'tcp'; host?: string; port: number }
  | { type: 'http'; host?: string; port: number; path: string; headers: Array<{ name: string; value: string }>; https?: boolean }
  | { type: 'grpc'; port: number; service: string };

export interface ProbeSpec {
  kind: ProbeKind;
  action: ProbeAction;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
  /** the kill's grace when it gives up (probe-level terminationGracePeriodSeconds); else the pod's */
  graceMs?: number;
}

export interface ProbeCounters {
  successes: number;
  failures: number;
  lastRun: number;
}

export interface ContainerProbeState {
  /** startupProbe succeeded (or there is none) */
  started: boolean;
  ready: boolean;
  counters: Partial<Record<ProbeKind, ProbeCounters>>;
  /** why it was killed, once a liveness or startup probe gave up */
  killed?: string;
}

/** A probe's port: a number, or the name of one of the container's ports. */
export function probePort(c: PodContainer, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = (c.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`port ${JSON.stringify(port)} is not one of the container's named ports`);
  return named.containerPort;
}

function probeAction(c: PodContainer, p: NonNullable<PodContainer['livenessProbe']>): ProbeAction | undefined {
  if (p.exec) return { type: 'exec', command: p.exec.command };
  if (p.tcpSocket) return { type: 'tcp', host: p.tcpSocket.host, port: probePort(c, p.tcpSocket.port) };
  if (p.httpGet) {
    return { type: 'http', host: p.httpGet.host, port: probePort(c, p.httpGet.port), path: p.httpGet.path || '/', headers: p.httpGet.httpHeaders ?? [], ...(p.httpGet.scheme === 'HTTPS' ? { https: true } : {}) };
  }
  if (p.grpc) return { type: 'grpc', port: p.grpc.port, service: p.grpc.service ?? '' };
  return undefined;
}

/** The probes of a container, with Kubernetes' defaults (period 10 s, timeout 1 s, thresholds 1/3). */
export function probeSpecs(c: PodContainer): ProbeSpec[] {
  const out: ProbeSpec[] = [];
  for (const [kind, p] of [['startup', c.startupProbe], ['liveness', c.livenessProbe], ['readiness', c.readinessProbe]] as const) {
    const action = p && probeAction(c, p);
    if (!p || !action) continue;
    out.push({
      kind, action,
      initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000, periodMs: (p.periodSeconds ?? 10) * 1000, timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
      // liveness and startup must have successThreshold 1 (Kubernetes validation)
      successThreshold: kind === 'readiness' ? (p.successThreshold ?? 1) : 1, failureThreshold: p.failureThreshold ?? 3,
      ...(p.terminationGracePeriodSeconds !== undefined ? { graceMs: p.terminationGracePeriodSeconds * 1000 } : {}),
    });
  }
  return out;
}

export function initialState(specs: ProbeSpec[]): ContainerProbeState {
  return { started: !specs.some((s) => s.kind === 'startup'), ready: false, counters: {} };
}

/** The probes due at `now` for a run that began at `runStart`. */
export function dueProbes(specs: ProbeSpec[], st: ContainerProbeState, runStart: number, now: number): ProbeSpec[] {
  if (st.killed) return [];
  return specs.filter((s) => {
    if (s.kind !== 'startup' && !st.started) return false; // startup gates the others
    if (s.kind === 'startup' && st.started) return false;
    const last = st.counters[s.kind]?.lastRun;
    return last === undefined ? now >= runStart + s.initialDelayMs : now >= last + s.periodMs;
  });
}

/** The state once a probe of `kind` has been sent at `now` (its period counts from there, whatever it answers). */
export function probeSent(st: ContainerProbeState, kind: ProbeKind, now: number): ContainerProbeState {
  return { ...st, counters: { ...st.counters, [kind]: { ...(st.counters[kind] ?? { successes: 0, failures: 0 }), lastRun: now } } };
}

/** Fold one result in; returns the new state and whether to kill the container. */
export function applyResult(spec: ProbeSpec, st: ContainerProbeState, ok: boolean, now: number, why: string): { state: ContainerProbeState; kill?: string } {
  const prev = st.counters[spec.kind] ?? { successes: 0, failures: 0, lastRun: now };
  const c: ProbeCounters = ok ? { successes: prev.successes + 1, failures: 0, lastRun: now } : { successes: 0, failures: prev.failures + 1, lastRun: now };
  const state: ContainerProbeState = { ...st, counters: { ...st.counters, [spec.kind]: c } };
  if (spec.kind === 'startup') {
    if (ok) state.started = true;
    else if (c.failures >= spec.failureThreshold) state.killed = `startup probe failed ${c.failures} times: ${why}`;
  } else if (spec.kind === 'liveness') {
    if (!ok && c.failures >= spec.failureThreshold) state.killed = `liveness probe failed ${c.failures} times: ${why}`;
  } else if (ok && c.successes >= spec.successThreshold) state.ready = true;
  else if (!ok && c.failures >= spec.failureThreshold) state.ready = false;
  return state.killed && !st.killed ? { state, kill: state.killed } : { state };
}

/** A container without a readiness probe is ready once started (and running). */
export function isReady(specs: ProbeSpec[], st: ContainerProbeState | undefined): boolean {
  if (!specs.some((s) => s.kind === 'readiness')) return st?.started ?? !specs.some((s) => s.kind === 'startup');
  return !!st?.ready;
}
