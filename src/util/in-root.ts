/** Read a file of a container root filesystem from the host without ever
 * following a symlink out of it: each component is resolved under the root
 * (symlinks re-rooted, ".." clamped), the final open uses O_NOFOLLOW. */
import fs from 'node:fs';
import path from 'node:path';

const MAX_LINKS = 40;

/** A relative path with no ".." component (kubelet's validateLocalDescendingPath): one
 * that names something below the directory it is taken from, symlinks aside. */
export function isLocalDescendingPath(p: string): boolean {
  return !p.startsWith('/') && !p.split('/').includes('..');
}

/** Host path of `rel` inside `root`, or undefined when it does not exist. */
export function resolveInRoot(root: string, rel: string): string | undefined {
  const base = path.resolve(root);
  let cur = base;
  const queue = rel.split('/');
  let links = 0;
  while (queue.length > 0) {
    const c = queue.shift() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (cur !== base) cur = path.dirname(cur);
      continue;
    }
    const next = path.join(cur, c);
    const st = fs.lstatSync(next, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const t = fs.readlinkSync(next);
      if (t.startsWith('/')) cur = base;
      queue.unshift(...t.split('/'));
      continue;
    }
    cur = next;
  }
  return cur;
}

/** Contents of a regular file inside `root` (at most `limit` bytes), or undefined. */
export function readFileInRoot(root: string, rel: string, limit = 1 << 20): string | undefined {
  const p = resolveInRoot(root, rel);
  if (!p) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return undefined; // never a fifo or device
    const buf = Buffer.allocUnsafe(Math.min(st.size, limit)); // not a zeroed MiB per /etc/passwd
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}
