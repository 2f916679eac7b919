/** Whole-file replacement that readers never see half-written. */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { processStartTime } from './process-identity';

export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Remove the temp files writeFileAtomic left in `dir` when its writer died
 * between open and rename (a live writer's are kept). Returns how many. */
export function sweepAtomicTemps(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const m = /\.(\d+)\.tmp$/.exec(name);
    if (!m || processStartTime(Number(m[1])) !== undefined) continue; // its writer still runs
    rmSync(path.join(dir, name), { force: true });
    n++;
  }
  return n;
}
