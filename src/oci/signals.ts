/** Signal names and numbers as runc accepts them: KILL, SIGKILL, 9. */
import { constants as osConstants } from 'node:os';
import { PodrunError } from '../errors';

export function parseSignal(sig: string | number): number {
  if (typeof sig === 'number') return sig;
  if (/^\d+$/.test(sig)) return Number(sig);
  const name = (sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`) as NodeJS.Signals;
  // real-time signals by offset, as runc and containerd take them (systemd images stop with SIGRTMIN+3); glibc's
  // SIGRTMIN is 34 (the kernel's 32, two kept by the C library), SIGRTMAX 64
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'MIN' ? 34 : 64) + (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0);
    if (n >= 34 && n <= 64) return n;
  }
  const n = osConstants.signals[name];
  if (n === undefined) throw new PodrunError('EINVALID_CONFIG', `unknown signal ${JSON.stringify(sig)}`);
  return n;
}

/** How a process ended, shell-style: status is the exit code or 128 + signal. */
export function exitResult(exitCode: number | null, signal: number | null): { exitCode: number | null; signal: NodeJS.Signals | null; status: number } {
  return { exitCode, signal: signal ? signalName(signal) : null, status: exitCode ?? 128 + (signal ?? 0) };
}

export function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}
