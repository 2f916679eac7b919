/** Create and remove cgroup v2 directories (the side-effect edge). Removal
 * kills everything inside (cgroup.kill), waits until the cgroup is empty and
 * removes it bottom-up. */
import type { Dirent } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodrunError, errnoCode } from '../errors';

/** mkdir -p; returns the directories it created, deepest last. */
export async function createCgroup(dir: string): Promise<string[]> {
  let first: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      first = await mkdir(dir, { recursive: true });
      break;
    } catch (e) {
      // a parent pruned by another container's exit between mkdir steps: retry
      if (errnoCode(e) !== 'ENOENT' || attempt >= 5) throw new PodrunError('ECGROUP', `creating cgroup ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (first === undefined) throw new PodrunError('EEXIST', `cgroup ${dir} already exists (is the id in use?)`);
  const created: string[] = [];
  for (let d = dir; d.length >= first.length; d = path.dirname(d)) created.unshift(d);
  return created;
}

export async function isPopulated(dir: string): Promise<boolean> {
  const events = await readFile(path.join(dir, 'cgroup.events'), 'utf8');
  return /^populated 1$/m.test(events);
}

/** Kill every process in dir (and below), wait for it to empty, rmdir it. */
export async function removeCgroup(dir: string, timeoutMs = 10_000): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  if (await isPopulated(dir)) {
    await writeFile(path.join(dir, 'cgroup.kill'), '1');
    const deadline = Date.now() + timeoutMs;
    while (await isPopulated(dir)) {
      if (Date.now() > deadline) throw new PodrunError('ECGROUP', `cgroup ${dir} still has processes ${timeoutMs} ms after cgroup.kill`);
      await sleep(5);
    }
  }
  for (const e of entries) {
    if (e.isDirectory()) await removeCgroup(path.join(dir, e.name), timeoutMs);
  }
  // rmdir can briefly fail with EBUSY while the last task is being released
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 200) throw new PodrunError('ECGROUP', `removing cgroup ${dir}: ${(e as Error).message}`, { cause: e });
      await sleep(5);
    }
  }
}

/** rmdir directories podrun created above a container cgroup, if now empty. */
export async function pruneEmpty(dirs: readonly string[]): Promise<void> {
  for (const d of [...dirs].reverse()) {
    try {
      await rmdir(d);
    } catch {
      return; // busy (another container) or gone: leave it
    }
  }
}
