/** Signal names and numbers as runc accepts them: KILL, SIGKILL, 9. */
import { constants as osConstants } from 'node:os';
import { PodrunError } from '../errors';

export function parseSignal(sig: string | number): number {
  if (typeof sig === 'number') return sig;
  if (/^\d+$/.test(sig)) return Number(sig);
  const name = (sig.toUpperCase().startsWith('SIG') ? sig.toUpperCase() : `SIG${sig.toUpperCase()}`) as NodeJS.Signals;
  const n = osConstants.signals[name];
  if (n === undefined) throw new PodrunError('EINVALID_CONFIG', `unknown signal ${JSON.stringify(sig)}`);
  return n;
}

export function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}
