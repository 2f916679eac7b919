/** Rootless podrun: which user namespace this process is in, and where a user's podrun keeps its state and data.
 * Every podrun command of an ordinary user runs inside one user + mount namespace of that user's, entered by
 * native/rootless/entry.c (the ids: /etc/subuid) and kept by rootless_ns.c; in there it is root over its ids. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface IdMapLine {
  inside: number;
  outside: number;
  count: number;
}

/** /proc/PID/uid_map text → its lines. Pure. */
export function parseIdMap(text: string): IdMapLine[] {
  const out: IdMapLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length === 3 && f.every((n) => Number.isInteger(n) && n >= 0)) out.push({ inside: f[0]!, outside: f[1]!, count: f[2]! });
  }
  return out;
}

/** The host's own namespace maps every id to itself. */
export const isIdentityMap = (m: IdMapLine[]): boolean => m.length === 1 && m[0]!.inside === 0 && m[0]!.outside === 0 && m[0]!.count === 4294967295;

export interface RootlessView {
  /** the host uid and gid this namespace's root is (the user's) */
  hostUid: number;
  hostGid: number;
  /** how many ids the namespace has (1: only the user's own, no /etc/subuid range) */
  ids: number;
}

/** This process's namespace, as `rootlessView` reads it. Pure. */
export function rootlessViewOf(uidMap: string, gidMap: string): RootlessView | null {
  const u = parseIdMap(uidMap);
  const g = parseIdMap(gidMap);
  if (!u.length || isIdentityMap(u)) return null;
  const root = u.find((l) => l.inside === 0);
  const groot = g.find((l) => l.inside === 0);
  return { hostUid: root?.outside ?? -1, hostGid: groot?.outside ?? -1, ids: Math.min(sum(u), sum(g)) };
}

const sum = (m: IdMapLine[]): number => m.reduce((n, l) => n + l.count, 0);

let cached: RootlessView | null | undefined;

/** null as root on the host; else the user namespace podrun runs in (rootless). Read once. */
export function rootlessView(): RootlessView | null {
  if (cached === undefined) {
    try {
      cached = rootlessViewOf(fs.readFileSync('/proc/self/uid_map', 'utf8'), fs.readFileSync('/proc/self/gid_map', 'utf8'));
    } catch {
      cached = null;
    }
  }
  return cached;
}

export const isRootless = (): boolean => rootlessView() !== null;

/** The runtime directory of a user's podrun: `$XDG_RUNTIME_DIR/podrun`, else /tmp/podrun-UID (as podman's
 * /tmp/podman-run-UID). Pure over env and uid. */
export function rootlessRunDir(env: NodeJS.ProcessEnv, uid: number): string {
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'podrun') : `/tmp/podrun-${uid}`;
}

/** `$XDG_DATA_HOME/podrun`, else ~/.local/share/podrun. Pure over env. */
export function rootlessDataDir(env: NodeJS.ProcessEnv, home: string): string {
  return path.join(env.XDG_DATA_HOME || path.join(env.HOME || home, '.local', 'share'), 'podrun');
}

/** Defaults for a root that may be rootless: the host paths as root, the user's paths in the user's namespace. */
export function defaultRoot(kind: 'state' | 'data', asRoot: string): string {
  const v = rootlessView();
  if (!v) return asRoot;
  return kind === 'state' ? rootlessRunDir(process.env, v.hostUid) : rootlessDataDir(process.env, os.homedir());
}

