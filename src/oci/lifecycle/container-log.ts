/** A container's CRI-format log as podrun-monitor keeps it (native/monitor/cri_log.h):
 * LOG, and once rotated LOG.<offset> files, each named by the logical offset
 * of its first byte — the count of bytes in every file before it. Run
 * boundaries in DIR/restarts are logical offsets too, so they stay valid
 * across rotations. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../../errors';

/** kubelet's containerLogMaxSize / containerLogMaxFiles */
export interface LogRotation {
  /** bytes: LOG is rotated before an entry would make it larger */
  maxSize: number;
  /** files kept, LOG included (≥ 2) */
  maxFiles: number;
}

/** kubelet's defaults: 10Mi, 5 files */
export const DEFAULT_LOG_ROTATION: LogRotation = { maxSize: 10 * 1024 * 1024, maxFiles: 5 };

/** CRI_LOG_MIN_ROTATE_SIZE: twice the longest entry the monitor writes, so no file need exceed its limit */
export const MIN_LOG_ROTATE_SIZE = 2 * (16384 + 128);

/** Refuse what the monitor could not keep to, naming the option as the caller spelled it. */
export function checkLogRotation(r: LogRotation, names: { maxSize: string; maxFiles: string }): LogRotation {
  if (!Number.isSafeInteger(r.maxSize) || r.maxSize < MIN_LOG_ROTATE_SIZE) {
    throw new PodrunError('EINVALID_CONFIG', `${names.maxSize}: ${r.maxSize} bytes is below the smallest rotation size, ${MIN_LOG_ROTATE_SIZE} (twice the longest log entry)`, { field: names.maxSize });
  }
  if (!Number.isSafeInteger(r.maxFiles) || r.maxFiles < 2) {
    throw new PodrunError('EINVALID_CONFIG', `${names.maxFiles}: must be at least 2 (the current file and one rotated), got ${r.maxFiles}`, { field: names.maxFiles });
  }
  return r;
}

export interface LogFile {
  /** logical offset of its first byte */
  base: number;
  size: number;
  path: string;
  /** the current file, open (it is renamed away on rotation; the fd keeps it) */
  fd?: number;
}

/** The files of a log, oldest first, as they were at one moment: LOG is
 * opened first and must still be LOG after the rotated files are listed, so
 * no rotation happened in between (each rotation makes a new LOG). The
 * caller closes the last file's fd. */
export function snapshotLogFiles(file: string): LogFile[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  for (let attempt = 0; ; attempt++) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const ino = fd === undefined ? undefined : fs.fstatSync(fd).ino;
    const rotated: LogFile[] = [];
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
      const p = path.join(dir, name);
      try {
        rotated.push({ base: Number(name.slice(prefix.length)), size: fs.lstatSync(p).size, path: p });
      } catch {
        // removed meanwhile: older than what is kept
      }
    }
    rotated.sort((a, b) => a.base - b.base);
    let still: number | undefined;
    try {
      still = fs.lstatSync(file).ino;
    } catch {
      still = undefined;
    }
    if (still !== ino && attempt < 20) {
      if (fd !== undefined) fs.closeSync(fd);
      continue;
    }
    const last = rotated[rotated.length - 1];
    const base = last ? last.base + last.size : 0;
    if (fd !== undefined) rotated.push({ base, size: fs.fstatSync(fd).size, path: file, fd });
    return rotated;
  }
}
