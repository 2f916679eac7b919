/** Kubernetes lifecycle hooks (postStart, preStop) of any kind kubelet runs: a command in the container, an HTTP
 * GET in the pod's network (as an httpGet probe, but any response counts: kubelet fails the hook only when no
 * answer comes), or a pause. */
import { setTimeout as sleep } from 'node:timers/promises';
import { killContainer, readRecord } from '../oci/lifecycle';
import { containerStatus } from '../oci/lifecycle/container-status';
import { describeHandler, runExecHandler, type HandlerResult } from './exec-handler';
import { runProbeAction, type ProbeTarget } from './probe-action';
import { probePort, type ProbeAction } from './probe-state';
import type { PodContainer } from './manifest-schema';

/** kubelet gives a postStart hook no deadline of its own; podrun gives it two minutes */
const POST_START_TIMEOUT_MS = 120_000;

export type HookAction = Extract<ProbeAction, { type: 'exec' | 'http' }> | { type: 'sleep'; seconds: number };

type Hook = NonNullable<NonNullable<PodContainer['lifecycle']>['postStart']>;

/** The hook's action (pure); undefined where there is none. tcpSocket never gets here (refused with the manifest). */
export function hookAction(c: PodContainer, hook: Hook | undefined): HookAction | undefined {
  if (!hook) return undefined;
  if (hook.exec) return { type: 'exec', command: hook.exec.command };
  if (hook.httpGet) {
    const g = hook.httpGet;
    return { type: 'http', host: g.host, port: probePort(c, g.port), path: g.path || '/', headers: g.httpHeaders ?? [], ...(g.scheme === 'HTTPS' ? { https: true } : {}) };
  }
  if (hook.sleep) return { type: 'sleep', seconds: hook.sleep.seconds };
  return undefined;
}

/** Run a hook in or at the container within timeoutMs. `target.outFile` keeps an exec hook's output. */
export async function runHook(a: HookAction, target: ProbeTarget, timeoutMs: number): Promise<HandlerResult> {
  if (a.type === 'exec') return runExecHandler(target.ociRoot, target.ociId, a.command, target.outFile, timeoutMs);
  if (a.type === 'sleep') {
    const ms = a.seconds * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.min(ms, timeoutMs)));
    return { code: 0, output: '', timedOut: ms > timeoutMs };
  }
  const { ok, why } = await runProbeAction(a, target, timeoutMs);
  // an HTTP answer of any status is a hook that ran; no answer is its failure (an HTTPS one says "HTTP/1.1 …" too)
  const answered = ok || /^HTTP\/\d/.test(why);
  return { code: answered ? 0 : null, output: why, timedOut: /timed out/.test(why), ...(answered ? {} : { failure: `GET ${a.path} on port ${a.port}: ${why}` }) };
}

/** lifecycle.postStart in a container that just started; when it fails the
 * container is killed (FailedPostStartHook, as kubelet does; its restartPolicy
 * decides what follows), unless `stillCurrent` says the run it was for is
 * over. Resolves with why it failed ("postStart hook exited with 3: …"), or
 * undefined. */
export async function runPostStart(hook: HookAction, target: ProbeTarget, stillCurrent: () => boolean = () => true): Promise<string | undefined> {
  const r = await runHook(hook, target, POST_START_TIMEOUT_MS);
  if (r.code === 0 || !stillCurrent()) return undefined;
  try {
    killContainer(target.ociRoot, target.ociId, 'SIGKILL', { all: true });
  } catch {
    /* it exited already */
  }
  return `postStart hook ${describeHandler(r, POST_START_TIMEOUT_MS)}`;
}

/** kubelet's kill of one container whose probe gave up: its preStop hook, SIGTERM to its main process, and SIGKILL
 * to all of it once `graceMs` is over (0: SIGKILL at once). Only the run that was running is killed: the one its
 * monitor restarts afterwards is left alone. */
export async function killGracefully(target: ProbeTarget, preStop: { action: HookAction; outFile: string } | undefined, graceMs: number, stopSignal = 'SIGTERM'): Promise<void> {
  const { ociRoot, ociId } = target;
  const first = readRecord(ociRoot, ociId);
  if (!first) return;
  const run = `${first.pid}:${first.pidStartTime}`;
  const same = (): boolean => {
    const r = readRecord(ociRoot, ociId);
    return !!r && `${r.pid}:${r.pidStartTime}` === run && containerStatus(ociRoot, r).status === 'running';
  };
  const signal = (sig: string): void => {
    try {
      if (same()) killContainer(ociRoot, ociId, sig, { all: sig === 'SIGKILL' });
    } catch {
      /* it exited meanwhile */
    }
  };
  if (graceMs <= 0) return signal('SIGKILL');
  const start = Date.now();
  if (preStop) await runHook(preStop.action, { ...target, outFile: preStop.outFile }, graceMs);
  // like kubelet, at least 2 s of grace remain for SIGTERM after the hook
  const end = Date.now() + Math.max(2000, graceMs - (Date.now() - start));
  signal(stopSignal);
  while (same() && Date.now() < end) await sleep(100);
  signal('SIGKILL');
}
