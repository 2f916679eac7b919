/** Where a container's cgroup lives: OCI linux.cgroupsPath as runc's cgroupfs
 * driver places it, or podrun.slice/<id> under the cgroup2 mount. Pure. */
import path from 'node:path';
import { invalidField } from '../errors';

export const PODRUN_SLICE = 'podrun.slice';

/** ownCgroup: the caller's cgroup2 path (/proc/self/cgroup's `0::` line).
 * An absolute cgroupsPath is below the cgroup2 root; a relative one below the
 * parent of the caller's own cgroup, as runc does (its own cgroup may hold
 * processes, so no controller could be enabled beneath it). That includes
 * `slice:prefix:name`, systemd syntax, which containerd sends with the
 * cgroupfs driver when the CRI parent is a slice: runc without
 * --systemd-cgroup takes it as a directory name, and so do we. */
export function containerCgroupPath(mount: string, id: string, cgroupsPath?: string, ownCgroup = '/'): string {
  if (cgroupsPath === undefined || cgroupsPath === '') return path.join(mount, PODRUN_SLICE, id);
  const rel = path.posix.normalize(cgroupsPath.replace(/^\/+/, ''));
  if (rel.startsWith('..') || rel === '.') throw invalidField('linux.cgroupsPath', 'must name a cgroup below the cgroup2 root');
  if (cgroupsPath.startsWith('/')) return path.join(mount, rel);
  return path.join(mount, path.posix.dirname(path.posix.normalize(`/${ownCgroup}`)), rel);
}

/** The cgroup2 path in a /proc/PID/cgroup text ("0::/a/b"), '/' if none. */
export function ownCgroup2(procCgroup: string): string {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line ? line.slice(3) || '/' : '/';
}
