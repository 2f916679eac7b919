/** A pid plus its start time names one process, even after pid reuse. */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Field 22 of /proc/<pid>/stat (clock ticks since boot), or undefined. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined; // exited, not yet reaped
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  if (!pid || startTime === undefined) return false;
  return processStartTime(pid) === startTime;
}

/** Until that process is gone (or timeoutMs passed). */
export async function waitProcessGone(pid: number | undefined, startTime: number | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isSameProcess(pid, startTime) && Date.now() < deadline) await sleep(2);
}
