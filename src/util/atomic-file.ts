/** Whole-file replacement that readers never see half-written. */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { processStartTime } from './process-identity';

/** Options for runtime state (see writeFileAtomic). */
export const VOLATILE = { durable: false } as const;

/** Replace `file` with `data` through a temp file and rename. Durable (the
 * default) also fsyncs before the rename, so a power loss cannot leave an
 * empty file: what persistent data (images, leases) needs. Runtime state
 * under the state root is volatile by design (a tmpfs on most hosts, gone at
 * boot; runc's /run/runc alike) and passes `durable: false`: the rename alone
 * keeps readers and crashed writers safe, and an fsync per record costs a
 * pod start milliseconds where /run is a disk. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600, o: { durable?: boolean } = {}): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    if (o.durable !== false) fsyncSync(fd);
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
