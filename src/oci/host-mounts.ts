/** A container without a mount namespace of its own has its mounts made in
 * ours, below its rootfs (as runc does; runc leaves them behind): they are
 * removed when the container is. */
import { readFileSync } from 'node:fs';
import { mountPointsUnder } from '../cgroup/mount';
import { detachMount } from '../native';

/** Detach every mount at or below dir, deepest first; what is already gone is fine. */
export function removeMountsUnder(dir: string): void {
  for (const point of mountPointsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), dir)) detachMount(point);
}
