/**
 * The host's device nodes as OCI devices: what a privileged container gets (containerd's WithHostDevices, runc's
 * HostDevices). /dev/pts, /dev/shm and /dev/mqueue are the container's own, and /dev/console and /dev/ptmx are set up
 * by the launch, so they are left out; symlinks are not devices.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OciConfig } from './spec-schema';

export type OciDevice = NonNullable<NonNullable<OciConfig['linux']>['devices']>[number];

const OWN_DIRS = new Set(['pts', 'shm', 'mqueue', 'fd']);
const OWN_NODES = new Set(['console', 'ptmx']);

export function hostDevices(dir = '/dev', top = true): OciDevice[] {
  const out: OciDevice[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!(top && OWN_DIRS.has(e.name))) out.push(...hostDevices(p, false));
      continue;
    }
    if (!(e.isCharacterDevice() || e.isBlockDevice()) || (top && OWN_NODES.has(e.name))) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue; // gone meanwhile
    }
    out.push({
      path: p, type: st.isCharacterDevice() ? 'c' : 'b', major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
      fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid,
    });
  }
  return out;
}
