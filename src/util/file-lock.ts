/** A cross-process lock file: created with O_EXCL, holding "pid starttime".
 * A holder that died (crash, kill -9) is detected by pid + start time and
 * its lock taken over, so a crash never wedges later commands. */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSameProcess, processStartTime } from './process-identity';

function tryAcquire(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid} ${processStartTime(process.pid) ?? 0}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Whether the lock at `file` is held by a live process. */
export function lockHolderAlive(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const [pid, start] = text.trim().split(' ').map(Number);
  // an empty file is a holder between open and write: treat as alive briefly
  if (!text.trim()) return true;
  return isSameProcess(pid, start);
}

export async function withFileLock<T>(file: string, fn: () => Promise<T>, pollMs = 25): Promise<T> {
  mkdirSync(path.dirname(file), { recursive: true });
  let emptySince = 0;
  while (!tryAcquire(file)) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // released between our open and read
    }
    if (!text.trim()) {
      emptySince ||= Date.now();
      if (Date.now() - emptySince > 5000) unlinkStale(file); // holder died between open and write
    } else if (!lockHolderAlive(file)) unlinkStale(file);
    await sleep(pollMs);
  }
  try {
    return await fn();
  } finally {
    unlinkSync(file);
  }
}

function unlinkStale(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* someone else took it over first */
  }
}
