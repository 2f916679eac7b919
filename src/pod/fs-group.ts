/**
 * securityContext.fsGroup on a pod's volumes, as kubelet applies it (its volume ownership walk): every file and
 * directory group-owned by fsGroup, group read/write (read only on read-only volumes: ConfigMaps, Secrets), and
 * directories setgid so what the containers write there stays in the group. fsGroupChangePolicy OnRootMismatch
 * skips the walk when the volume's root already looks done. Symlinks are re-owned, never followed.
 */
import fs from 'node:fs';
import path from 'node:path';

export type FsGroupChangePolicy = 'Always' | 'OnRootMismatch';

const RW = 0o660;
const RO = 0o440;
const S_ISGID = 0o2000;
const DIR_EXTRA = S_ISGID | 0o110;

/** The mode kubelet gives an entry: its own, plus the group's bits for the volume's kind. */
export function fsGroupMode(mode: number, isDir: boolean, readOnly: boolean): number {
  const perm = mode & 0o7777;
  return perm | (readOnly ? RO : RW) | (isDir ? DIR_EXTRA : 0);
}

function rootIsDone(dir: string, gid: number, readOnly: boolean): boolean {
  const st = fs.lstatSync(dir);
  const want = fsGroupMode(st.mode, true, readOnly);
  return st.gid === gid && (st.mode & 0o7777) === want;
}

export function applyFsGroup(dir: string, gid: number, o: { readOnly: boolean; policy?: FsGroupChangePolicy }): void {
  if (o.policy === 'OnRootMismatch' && rootIsDone(dir, gid, o.readOnly)) return;
  const visit = (p: string): void => {
    const st = fs.lstatSync(p);
    fs.lchownSync(p, st.uid, gid);
    if (st.isSymbolicLink()) return;
    fs.chmodSync(p, fsGroupMode(st.mode, st.isDirectory(), o.readOnly));
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(dir);
}
