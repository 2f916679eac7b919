/**
 * Opt-in timing of the steps on podrun's hot paths (PODRUN_TRACE=1): one stderr line per step with its
 * wall-clock milliseconds, for finding where a start's time goes without a profiler (most of it is spent
 * waiting on other processes — CNI plugins, the monitor — which a CPU profile does not show).
 */
const enabled = process.env.PODRUN_TRACE === '1';

function say(step: string, t0: bigint): void {
  const now = process.hrtime.bigint();
  process.stderr.write(`podrun trace: ${step} ${(Number(now - t0) / 1e6).toFixed(1)} ms (${(Number(t0) / 1e6).toFixed(1)} → ${(Number(now) / 1e6).toFixed(1)})\n`);
}

export async function traced<T>(step: string, run: () => Promise<T>): Promise<T> {
  if (!enabled) return run();
  const t0 = process.hrtime.bigint();
  try {
    return await run();
  } finally {
    say(step, t0);
  }
}

export function tracedSync<T>(step: string, run: () => T): T {
  if (!enabled) return run();
  const t0 = process.hrtime.bigint();
  try {
    return run();
  } finally {
    say(step, t0);
  }
}
