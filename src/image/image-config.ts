/** Image config → container defaults, and the Kubernetes rules for
 * combining them with a container's command/args/env/workingDir. Pure. */
import { PodrunError } from '../errors';
import type { ImageConfig } from './image-schema';

export interface ContainerDefaults {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  /** as written in the image: "", "name", "uid", "name:group", "uid:gid" */
  user: string;
  exposedPorts: string[];
  volumes: string[];
  labels: Record<string, string>;
  stopSignal?: string;
}

export function containerDefaults(config: ImageConfig): ContainerDefaults {
  const c = config.config ?? {};
  return {
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    env: c.Env ?? [],
    workingDir: c.WorkingDir || '/',
    user: c.User ?? '',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    volumes: Object.keys(c.Volumes ?? {}),
    labels: c.Labels ?? {},
    stopSignal: c.StopSignal,
  };
}

/** Kubernetes: `command` replaces Entrypoint (and drops Cmd); `args` replaces Cmd. */
export function processArgs(d: ContainerDefaults, command?: string[], args?: string[]): string[] {
  const argv = command && command.length > 0 ? [...command, ...(args ?? [])] : [...d.entrypoint, ...(args && args.length > 0 ? args : d.cmd)];
  if (argv.length === 0) throw new PodrunError('EINVALID_CONFIG', 'no command: the image has no Entrypoint or Cmd and the container sets no command', { field: 'command' });
  return argv;
}

/** Image Env overlaid by the container's (same name: the container wins, order kept). */
export function mergeEnv(image: string[], container: string[]): string[] {
  const out = new Map<string, string>();
  for (const kv of [...image, ...container]) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    out.delete(key);
    out.set(key, kv);
  }
  return [...out.values()];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** home directory from /etc/passwd, for HOME */
  home?: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return (text ?? '').split('\n').map((l) => l.split(':')).filter((f) => f.length >= 7 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return (text ?? '').split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean) }));
}

const ID_MAX = 0xffffffff - 1;

/** Resolve an image/pod `user` against the image's /etc/passwd and /etc/group
 * (passed as text; read them with readFileInRoot). Errors name the field. */
export function resolveUser(user: string, passwd: string | undefined, group: string | undefined, field = 'image.config.User'): ResolvedUser {
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const [u, g] = user === '' ? ['0', undefined] : user.split(':', 2);
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  let home: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    if (uid > ID_MAX) throw new PodrunError('EINVALID_CONFIG', `${field}: uid ${u} is out of range`, { field });
    const e = users.find((p) => p.uid === uid);
    gid = e?.gid;
    name = e?.name;
    home = e?.home;
  } else {
    const e = users.find((p) => p.name === u);
    if (!e) throw new PodrunError('EINVALID_CONFIG', `${field}: user ${JSON.stringify(u)} is not in the image's /etc/passwd`, { field });
    ({ uid, gid, name, home } = e);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = groups.find((x) => x.name === g);
      if (!e) throw new PodrunError('EINVALID_CONFIG', `${field}: group ${JSON.stringify(g)} is not in the image's /etc/group`, { field });
      gid = e.gid;
    }
  }
  const primary = gid ?? 0;
  const additionalGids = name ? groups.filter((x) => x.members.includes(name as string) && x.gid !== primary).map((x) => x.gid) : [];
  return { uid, gid: primary, additionalGids, home };
}
