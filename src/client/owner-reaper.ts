/** Pods that cannot outlive the process that started them. The library records the calling process as each
 * owned pod's owner, and starts one `podrun-monitor reaper` per state root: a small native process that waits on
 * this process's pidfd and, once it has ended however it ended (SIGKILL included), runs `podrun reap-orphans`,
 * which removes every pod whose owner is gone. `podrun gc` removes them too, should the reaper itself be killed.
 * testcontainers needs a reaper container (Ryuk) and a Docker daemon for this. */
import path from 'node:path';
import { monitorPath, packageRoot } from '../native';
import { spawnChild, type SpawnedChild } from '../native/spawn';
import { processStartTime } from '../util/process-identity';

const reapers = new Map<string, SpawnedChild>();

/** This process, as a pod's owner. */
export function thisProcess(): { pid: number; startTime?: number } {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

/** A reaper for pods under root/dataRoot owned by this process: started once, kept until it ends. */
export function ensureReaper(root: string, dataRoot: string): void {
  const key = `${path.resolve(root)}\0${path.resolve(dataRoot)}`;
  if (reapers.has(key)) return;
  const env: Record<string, string | undefined> = { ...process.env };
  // the clean-up speaks no TLS, and must not run a test runner's loaders (tap, ts-node) in NODE_OPTIONS
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  const command = [process.execPath, path.join(packageRoot(), 'bin', 'podrun.js'), '--runroot', root, '--data-root', dataRoot, 'reap-orphans'];
  const child = spawnChild(monitorPath(), ['reaper', String(process.pid), ...command], { detached: true, env });
  child.once('error', () => reapers.delete(key));
  child.once('exit', () => reapers.delete(key));
  child.unref();
  reapers.set(key, child);
}
