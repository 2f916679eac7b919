/** A sidecar with a startupProbe holds the init containers after it until the probe passes (kubelet's rule): probed
 * here, by `start`, on the probe's schedule; when it gives up the sidecar is killed and restarted by its monitor, and
 * the probing starts over with the new run. The pod's prober probes it afterwards like any container. */
import { setTimeout as sleep } from 'node:timers/promises';
import { readRecord } from '../oci/lifecycle';
import { hookAction, killGracefully } from './lifecycle-handler';
import { containerStatus } from '../oci/lifecycle/container-status';
import type { PodContainer } from './manifest-schema';
import { runProbeAction, type ProbeTarget } from './probe-action';
import { applyResult, dueProbes, initialState, probeSent, probeSpecs } from './probe-state';

export async function awaitSidecarStarted(spec: PodContainer, target: ProbeTarget, kill: { graceMs: number; preStopFile: string }, warn?: (m: string) => void): Promise<void> {
  const startup = probeSpecs(spec).filter((s) => s.kind === 'startup');
  if (!startup.length) return;
  let run = '';
  let runStart = 0;
  let st = initialState(startup);
  for (;;) {
    const r = readRecord(target.ociRoot, target.ociId);
    if (r && containerStatus(target.ociRoot, r).status === 'running') {
      const now = Date.now();
      const current = `${r.pid}:${r.pidStartTime}`;
      if (current !== run) {
        run = current; // a new run (the first, or a restart): the probe starts over
        runStart = now;
        st = initialState(startup);
      }
      for (const s of dueProbes(startup, st, runStart, now)) {
        st = probeSent(st, 'startup', now);
        const { ok, why } = await runProbeAction(s.action, target, s.timeoutMs);
        const res = applyResult(s, st, ok, Date.now(), why);
        st = res.state;
        if (res.kill) {
          warn?.(`sidecar ${spec.name}: ${res.kill}; killing it (its restart is probed anew)`);
          const preStop = hookAction(spec, spec.lifecycle?.preStop);
          await killGracefully(target, preStop && { action: preStop, outFile: kill.preStopFile }, s.graceMs ?? kill.graceMs);
        }
      }
      if (st.started) return;
    }
    await sleep(100);
  }
}
