/** linux.resources onto the container's cgroup: what the host can enforce is
 * written, the rest reported per limit (or refused with strict limits). */
import { applyResources } from '../cgroup/apply';
import { mapResources } from '../cgroup/resources';
import { PodrunError } from '../errors';
import type { Prepared } from './prepare';

export function enforceResources(p: Prepared, strict: boolean | undefined, warn: (m: string) => void): void {
  const { writes, unmappable } = mapResources(p.config.linux?.resources);
  const r = p.cgroup
    ? applyResources(p.cgroupMount, p.cgroup, writes, unmappable)
    : { notEnforced: [...new Set([...unmappable.map((u) => u.field), ...writes.map((w) => w.field)])].map((f) => `${f}: not enforced: the container has no cgroup (rootless, no cgroup v2 subtree delegated where it would be)`) };
  if (strict && r.notEnforced.length) {
    throw new PodrunError('EHOST', `limits this host cannot enforce (strict limits):\n  ${r.notEnforced.join('\n  ')}`);
  }
  for (const m of r.notEnforced) warn(m);
}
