/** Container records under <root>/containers/<id>/ (runc's --root). Writes
 * are atomic (temp, fsync, rename); readers tolerate half-deleted entries. */
import { mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { PodrunError, errnoCode } from '../../errors';
import { VOLATILE, writeFileAtomic } from '../../util/atomic-file';
import { defaultRoot } from '../../util/rootless';
import { validateId } from '../container-id';
import { hasHooks, type HookKind, type HookState, type OciHooks } from '../hooks';

/** /run/podrun; rootless, the user's ($XDG_RUNTIME_DIR/podrun) */
export const DEFAULT_STATE_ROOT = defaultRoot('state', '/run/podrun');

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  annotations: Record<string, string>;
  /** RFC 3339 */
  created: string;
  /** absolute cgroup v2 directory, and the directories podrun made for it */
  cgroup: string;
  cgroupCreated: string[];
  pid?: number;
  /** /proc/<pid>/stat start time, to tell a reused pid apart */
  pidStartTime?: number;
  monitorPid?: number;
  monitorStartTime?: number;
  /** its monitor is a pod's, shared with other containers: it outlives this one */
  sharedMonitor?: boolean;
  /** requested settings podrun did not enforce (also sent to onWarning) */
  warnings?: string[];
  /** config.json hooks, kept for start and delete (the bundle may change or go) */
  hooks?: OciHooks;
  /** no mount namespace of its own: its mounts below this rootfs are in ours, removed at delete */
  hostMounts?: string;
}

export interface ExitRecord {
  exitCode: number | null;
  signal: number | null;
  /** unix ms */
  finishedAt: number;
}

export function containersDir(root: string): string {
  return path.join(root, 'containers');
}

/** Every id a command names passes here before it becomes a path. */
export function containerDir(root: string, id: string): string {
  validateId(id);
  return path.join(containersDir(root), id);
}

/** Make the container's directory; fails if the id is taken. */
export function reserveContainerDir(root: string, id: string): string {
  mkdirSync(containersDir(root), { recursive: true, mode: 0o711 });
  const dir = containerDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') throw new PodrunError('EEXIST', `container with id ${id} already exists`);
    throw e;
  }
  return dir;
}

export function writeRecord(root: string, rec: ContainerRecord): void {
  writeFileAtomic(path.join(containerDir(root, rec.id), 'state.json'), `${JSON.stringify(rec)}\n`, 0o600, VOLATILE);
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** DIR/fast: what podrun-oci's C front end (native/oci/oci-fast.c) needs to serve
 * state/start/kill/delete without Node: key=value lines, and the OCI state
 * document with @@STATUS@@ and @@PID@@ left to fill in. */
export function writeFastRecord(root: string, rec: ContainerRecord): void {
  const state = {
    ociVersion: rec.ociVersion, id: rec.id, status: '@@STATUS@@', pid: '@@PID@@', bundle: rec.bundle, rootfs: rec.rootfs,
    created: rec.created, owner: '', ...(Object.keys(rec.annotations).length ? { annotations: rec.annotations } : {}),
  };
  const has = (...kinds: HookKind[]): number => (hasHooks(rec.hooks, ...kinds) ? 1 : 0);
  const lines = [
    `pid=${rec.pid}`, `pidStartTime=${rec.pidStartTime}`, `monitorPid=${rec.monitorPid}`, `monitorStartTime=${rec.monitorStartTime}`,
    `cgroup=${rec.cgroup}`, ...rec.cgroupCreated.map((d) => `cgroupCreated=${d}`),
    `startHooks=${has('startContainer', 'poststart')}`, `poststopHooks=${has('poststop')}`,
    `state=${JSON.stringify(state).replace('"@@PID@@"', '@@PID@@')}`,
  ];
  writeFileAtomic(path.join(containerDir(root, rec.id), 'fast'), `${lines.join('\n')}\n`, 0o600, VOLATILE);
}

/** undefined when the container does not exist (or is being deleted). A
 * container its monitor restarts has its current pid in DIR/pid. */
export function readRecord(root: string, id: string): ContainerRecord | undefined {
  const text = readOptional(path.join(containerDir(root, id), 'state.json'));
  if (text === undefined) return undefined;
  let rec: ContainerRecord;
  try {
    rec = JSON.parse(text) as ContainerRecord;
  } catch {
    return undefined; // torn by a crash between write and rename cannot happen; a foreign file can
  }
  const current = readOptional(path.join(containerDir(root, id), 'pid'))?.trim().split(' ');
  if (current?.length === 2) {
    rec.pid = Number(current[0]);
    rec.pidStartTime = Number(current[1]);
  }
  return rec;
}

export interface RestartRecord {
  /** how many times the monitor launched it again */
  count: number;
  /** unix ms of the pending restart (back-off), if one is pending */
  nextAt?: number;
  /** byte offsets in the container log where the current and the previous run begin */
  logStart: number;
  logPrevStart: number;
}

export function readRestarts(root: string, id: string): RestartRecord {
  const [count = 0, next = 0, logStart = 0, logPrevStart = 0] = (readOptional(path.join(containerDir(root, id), 'restarts')) ?? '').trim().split(' ').map(Number);
  return { count, ...(next > 0 ? { nextAt: next } : {}), logStart, logPrevStart };
}

function parseExit(text: string | undefined): ExitRecord | undefined {
  if (!text) return undefined;
  const [code, sig, ns] = text.trim().split(' ');
  const exitCode = Number(code);
  return { exitCode: exitCode >= 0 ? exitCode : null, signal: Number(sig) || null, finishedAt: Math.floor(Number(ns) / 1e6) };
}

/** The previous run's exit, for a container its monitor restarted. */
export function readLastExit(root: string, id: string): ExitRecord | undefined {
  return parseExit(readOptional(path.join(containerDir(root, id), 'last-exit')));
}

export function readExit(root: string, id: string): ExitRecord | undefined {
  return parseExit(readOptional(path.join(containerDir(root, id), 'exit')));
}

export function isStarted(root: string, id: string): boolean {
  return readOptional(path.join(containerDir(root, id), 'started')) !== undefined;
}

export function listContainerIds(root: string): string[] {
  try {
    return readdirSync(containersDir(root)).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}

/** Remove a container's directory, and the state root too once it is empty. */
export function removeContainerDir(root: string, id: string): void {
  rmSync(containerDir(root, id), { recursive: true, force: true });
  for (const d of [containersDir(root), root]) {
    try {
      rmdirSync(d);
    } catch {
      return; // other containers, or something else of the caller's, remain
    }
  }
}

/** The state a hook reads on stdin. */
export function hookState(rec: ContainerRecord, status: HookState['status'], pid = rec.pid): HookState {
  return { ociVersion: rec.ociVersion, id: rec.id, status, pid, bundle: rec.bundle, annotations: rec.annotations };
}

export function requireRecord(root: string, id: string): ContainerRecord {
  const rec = readRecord(root, id);
  if (!rec) throw new PodrunError('ENOTFOUND', `container ${id} does not exist`);
  return rec;
}
