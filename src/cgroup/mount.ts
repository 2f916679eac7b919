import { readFileSync } from 'node:fs';
import { PodrunError } from '../errors';

/** Find the cgroup v2 mount: /sys/fs/cgroup on unified hosts,
 * /sys/fs/cgroup/unified on hybrid ones. Pure over mountinfo text. */
const USUAL_CGROUP2 = new Set(['/sys/fs/cgroup', '/sys/fs/cgroup/unified']);

export function findCgroup2Mount(mountinfo: string): string | undefined {
  const points = mountPointsOfType(mountinfo, 'cgroup2');
  // the last one wins: a later mount (e.g. cgroup2 bound over /sys/fs/cgroup) shadows earlier ones; but where the
  // host's usual places have one, that one: a container sharing our mount namespace has its own cgroup2 mounted
  // below its rootfs, which must not be taken for the host's
  return points.filter((p) => USUAL_CGROUP2.has(p)).at(-1) ?? points.at(-1);
}

/** The mount points of file systems of that type, in mountinfo's order. Pure. */
export function mountPointsOfType(mountinfo: string, fstype: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== fstype) continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (mountPoint) out.push(unescapeMountinfo(mountPoint));
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo */
export function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount point that contains `target` (longest matching prefix). */
export function mountPointOf(mountinfo: string, target: string): string {
  let best = '/';
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const point = unescapeMountinfo(mp);
    const inside = target === point || target.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && point.length > best.length) best = point;
  }
  return best;
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const point = unescapeMountinfo(mp);
    if (point === dir || point.startsWith(prefix)) out.add(point);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** This host's cgroup2 mount, read from /proc/self/mountinfo; undefined when there is none. */
export function hostCgroup2Mount(): string | undefined {
  return findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function requireHostCgroup2Mount(): string {
  const m = hostCgroup2Mount();
  if (!m) throw new PodrunError('EHOST', 'no cgroup2 mount on this host');
  return m;
}
