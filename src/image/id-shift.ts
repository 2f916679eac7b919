/** Owners shifted into a user namespace's range on disk: what podrun makes for a `hostUsers: false` pod (its volumes,
 * /etc files) and, on kernels without idmapped mounts, its copy of the image's layers. chown(2) has side effects a
 * shift must undo: it clears setuid/setgid bits and drops file capabilities, which are put back (the capabilities
 * rooted in the range, so the pod's root is the one they are for). */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PodrunError } from '../errors';
import { nativeFs } from '../native';

export interface ShiftRange {
  uidBase: number;
  gidBase: number;
  size: number;
}

const CAPS_XATTR = 'security.capability';
const VFS_CAP_REVISION_MASK = 0xff000000;
const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_REVISION_3 = 0x03000000;

/** A security.capability value (revision 2 or 3) made revision 3 with `rootid`: the kernel honours file capabilities
 * in a user namespace only when the root they name is that namespace's root. Others are returned as they are. Pure. */
export function capsRootedAt(value: Buffer, rootid: number): Buffer {
  if (value.length < 20) return value;
  const magic = value.readUInt32LE(0);
  const rev = (magic & VFS_CAP_REVISION_MASK) >>> 0;
  if (rev !== VFS_CAP_REVISION_2 && rev !== VFS_CAP_REVISION_3) return value;
  const out = Buffer.alloc(24);
  value.copy(out, 0, 0, 20);
  out.writeUInt32LE(((magic & ~VFS_CAP_REVISION_MASK) | VFS_CAP_REVISION_3) >>> 0, 0);
  out.writeUInt32LE(rootid >>> 0, 20);
  return out;
}

function readCaps(p: string): Buffer | undefined {
  try {
    return nativeFs().lgetxattr(p, CAPS_XATTR) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Every owner under `root` (itself included, links not followed) shifted into the range: id n < size becomes
 * base+n; ids beyond the range stay, so the namespace sees them as its overflow id, as an idmapped mount shows them.
 * A shifted id is ≥ size, so a hard link met twice is shifted once. */
export function shiftOwners(root: string, range: ShiftRange): void {
  const shift = (id: number, base: number): number => (id < range.size ? base + id : id);
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    const uid = shift(st.uid, range.uidBase);
    const gid = shift(st.gid, range.gidBase);
    if (uid !== st.uid || gid !== st.gid) {
      const caps = st.isFile() ? readCaps(p) : undefined;
      fs.lchownSync(p, uid, gid);
      if (!st.isSymbolicLink() && st.mode & 0o6000) fs.chmodSync(p, st.mode & 0o7777);
      if (caps) nativeFs().lsetxattr(p, CAPS_XATTR, capsRootedAt(caps, range.uidBase));
    }
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
}

/** A copy of `src` at `dest` (made) with every entry kept — modes, times, xattrs (overlayfs' whiteouts and opaque
 * marks), hard links, device nodes — and its owners shifted into the range. GNU cp copies; reflinks where the file
 * system has them. */
export function shiftedCopy(src: string, dest: string, range: ShiftRange): void {
  fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
  const r = spawnSync('cp', ['-a', '--reflink=auto', '--', `${src}/.`, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new PodrunError('EHOST', `copying ${src} to ${dest}: ${(r.stderr || r.error?.message || `cp exit ${r.status}`).trim()}`);
  shiftOwners(dest, range);
}
