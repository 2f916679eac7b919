/** Rootless podrun's cgroups: the cgroup v2 subtree delegated to the user (what systemd gives a user@UID.service,
 * or what root made and chowned), found from where this process already is. Pure over a writability test, but for podrunSlice. */
import fs from 'node:fs';
import path from 'node:path';
import { isRootless } from '../util/rootless';
import { ownCgroup2, PODRUN_SLICE } from './cgroup-path';
import { hostCgroup2Mount } from './mount';

/** The highest cgroup on the path from the root to `own` (the caller's, /proc/self/cgroup's `0::` path) that the
 * caller may write, with every cgroup between it and `own` writable too; null when `own` itself is not. A process
 * may be moved between two cgroups only by one who may write their common ancestor's cgroup.procs, so podrun's
 * cgroups go below this one. */
export function delegatedCgroup(own: string, writable: (cgroup: string) => boolean): string | null {
  let top: string | null = null;
  for (let c = path.posix.normalize(`/${own}`); ; c = path.posix.dirname(c)) {
    if (!writable(c)) break;
    top = c;
    if (c === '/') break;
  }
  return top;
}

let slice: string | null | undefined;

/** Where podrun's pod cgroups go, below the cgroup2 mount: podrun.slice as root; rootless,
 * `<delegated subtree>/podrun.slice`, or null when nothing is delegated to the user. Found once. */
export function podrunSlice(): string | null {
  if (slice !== undefined) return slice;
  if (!isRootless()) return (slice = PODRUN_SLICE);
  const mount = hostCgroup2Mount();
  if (!mount) return (slice = null);
  const writable = (c: string): boolean => {
    try {
      fs.accessSync(path.join(mount, c), fs.constants.W_OK);
      fs.accessSync(path.join(mount, c, 'cgroup.procs'), fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  const top = delegatedCgroup(ownCgroup2(fs.readFileSync('/proc/self/cgroup', 'utf8')), writable);
  return (slice = top === null ? null : path.posix.join(top, PODRUN_SLICE).replace(/^\/+/, ''));
}

/** How a user gets a delegated subtree: said wherever its absence costs something. */
export const HOW_TO_DELEGATE = 'systemd gives each user one: run podrun in your login session or `systemd-run --user --scope`; ' +
  'without systemd, root can `mkdir` a cgroup, `chown -R` it to you and move your shell into it';

/** Rootless with nothing delegated: pods run in the user's own cgroup, untracked by cgroupfs. */
export const rootlessWithoutCgroup = (): boolean => isRootless() && podrunSlice() === null;
