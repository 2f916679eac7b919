/** What `du -x` counts below a directory: allocated blocks, each inode once (a hard link is not counted again),
 * symlinks not followed, no other file system entered. Entries that vanish meanwhile (something is writing) are
 * skipped. A writable layer's size (CRI stats), the image store's (ImageFsInfo), an emptyDir's (its sizeLimit). */
import fs from 'node:fs';
import path from 'node:path';

export function diskUsage(dir: string): { bytes: number; inodes: number } {
  const root = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!root) return { bytes: 0, inodes: 0 };
  const seen = new Set<number>([root.ino]);
  let bytes = root.blocks * 512;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st || st.dev !== root.dev || seen.has(st.ino)) continue;
      seen.add(st.ino);
      bytes += st.blocks * 512;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return { bytes, inodes: seen.size };
}
