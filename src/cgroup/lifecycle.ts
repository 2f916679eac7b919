/** Create and remove cgroup v2 directories (the side-effect edge). Removal
 * kills everything inside (cgroup.kill), waits until the cgroup is empty and
 * removes it bottom-up. cgroupfs operations are in-memory and sub-millisecond,
 * so they are done synchronously; only waiting for processes to die yields. */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodrunError, errnoCode } from '../errors';
import { nativeFs } from '../native';

/** mkdir -p; returns the directories it created, outermost first. */
export function createCgroup(dir: string): string[] {
  let first: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      first = mkdirSync(dir, { recursive: true });
      break;
    } catch (e) {
      // a parent pruned by another container's exit between mkdir steps: retry
      if (errnoCode(e) !== 'ENOENT' || attempt >= 5) throw new PodrunError('ECGROUP', `creating cgroup ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (first === undefined) throw new PodrunError('EEXIST', `cgroup ${dir} already exists (is the id in use?)`);
  const created: string[] = [];
  for (let d = dir; d.length >= first.length; d = path.dirname(d)) created.unshift(d);
  for (const d of created) markMade(d);
  return created;
}

/** What createCgroup(dir) would make now: dir and its missing ancestors,
 * outermost first — for a record written before it, so a crash between the
 * two still leaves what to remove. */
export function cgroupDirsToCreate(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !existsSync(d); d = path.dirname(d)) out.unshift(d);
  return out;
}

/** cgroupfs keeps trusted.* xattrs: directories podrun made say so, so a
 * shared parent (podrun.slice) is pruned by whoever empties it last, while
 * one an administrator made is left alone. */
const MADE_XATTR = 'trusted.podrun.made';

function markMade(dir: string): void {
  try {
    nativeFs().lsetxattr(dir, MADE_XATTR, Buffer.from('1'));
  } catch {
    /* no xattrs here (a fake cgroupfs as non-root): such parents are simply kept */
  }
}

function madeByPodrun(dir: string): boolean {
  try {
    return nativeFs().lgetxattr(dir, MADE_XATTR) != null;
  } catch {
    return false;
  }
}

/** rmdir `dir` and its ancestors while they are empty and podrun made them. */
export function pruneMadeParents(dir: string): void {
  for (let d = dir; d !== path.dirname(d) && madeByPodrun(d); d = path.dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // still in use
    }
  }
}

/** A "key 1" line of cgroup.events (populated, frozen). */
export function cgroupEvent(dir: string, key: 'populated' | 'frozen'): boolean {
  return new RegExp(`^${key} 1$`, 'm').test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
}

export function isPopulated(dir: string): boolean {
  return cgroupEvent(dir, 'populated');
}

/** Kill every process in dir (and below), wait for it to empty, rmdir it. */
export async function removeCgroup(dir: string, timeoutMs = 10_000): Promise<void> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  if (isPopulated(dir)) {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    const deadline = Date.now() + timeoutMs;
    while (isPopulated(dir)) {
      if (Date.now() > deadline) throw new PodrunError('ECGROUP', `cgroup ${dir} still has processes ${timeoutMs} ms after cgroup.kill`);
      await sleep(2);
    }
  }
  for (const e of entries) {
    if (e.isDirectory()) await removeCgroup(path.join(dir, e.name), timeoutMs);
  }
  // rmdir can briefly fail with EBUSY while the last task is being released
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 500) throw new PodrunError('ECGROUP', `removing cgroup ${dir}: ${(e as Error).message}`, { cause: e });
      await sleep(2);
    }
  }
}

/** rmdir directories podrun created above a container cgroup, if now empty. */
export function pruneEmpty(dirs: readonly string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // busy (another container) or gone: leave it
    }
  }
}
