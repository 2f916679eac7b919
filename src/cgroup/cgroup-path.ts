/** Where a container's cgroup lives: OCI linux.cgroupsPath, or
 * podrun.slice/<id> under the cgroup2 mount. Pure. */
import path from 'node:path';
import { invalidField } from '../errors';

export const PODRUN_SLICE = 'podrun.slice';

export function containerCgroupPath(mount: string, id: string, cgroupsPath?: string): string {
  if (cgroupsPath === undefined || cgroupsPath === '') return path.join(mount, PODRUN_SLICE, id);
  if (/^[^/:]*:[^:]*:[^:]*$/.test(cgroupsPath)) {
    throw invalidField('linux.cgroupsPath', `"${cgroupsPath}" is systemd slice:prefix:name syntax; the systemd cgroup driver is not supported yet`);
  }
  const rel = path.posix.normalize(cgroupsPath.replace(/^\/+/, ''));
  if (rel.startsWith('..') || rel === '.') throw invalidField('linux.cgroupsPath', 'must name a cgroup below the cgroup2 root');
  return path.join(mount, rel);
}
