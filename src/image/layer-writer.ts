/** Applies tar entries to a layer directory with synchronous syscalls,
 * never writing outside it. Paths are resolved one component at a time
 * under the root: a symlink met on the way is followed only inside the root
 * (like containerd's RootPath), ".." entries and escaping symlinks and
 * hardlinks are refused. Whiteouts become overlayfs whiteouts (0/0 char
 * devices, `trusted.overlay.opaque`) so layer directories stack as
 * lowerdirs; `apply` mode deletes instead, for a flattened tree. */
import fs from 'node:fs';
import path from 'node:path';
import type { NativeFileQueue, NativeFsApi } from '../native';
import { entryComponents, symlinkEscapes, UnsafePathError, whiteoutOf } from './safe-path';
import type { TarEntry, TarHandlers } from './tar-reader';

export type WhiteoutMode = 'overlay' | 'apply';

export interface LayerStats {
  entries: number;
  files: number;
  bytes: number;
  whiteouts: number;
  /** xattrs dropped because a layer may not set them (trusted.overlay.*) */
  droppedXattrs: number;
}

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, S_IFCHR, S_IFBLK, S_IFIFO } = fs.constants;
const MAX_LINKS = 40;
/** files up to this size are buffered and written by one native call */
const SMALL_FILE = 1 << 20;

export class LayerWriter implements TarHandlers {
  readonly stats: LayerStats = { entries: 0, files: 0, bytes: 0, whiteouts: 0, droppedXattrs: 0 };
  /** real directories under the root already checked or created: no lstat needed */
  #knownDirs = new Set<string>();
  #dirTimes: Array<[string, Date, Date]> = [];
  /** paths this layer wrote (apply mode: opaque dirs keep them) */
  #written = new Set<string>();
  #fd = -1;
  #current: TarEntry | null = null;
  #currentPath = '';
  /** body of the current small file (slices of the stream's own chunks) */
  #small: Buffer[] | null = null;
  /** the directory small files are being written into (tar order groups them) */
  #dirFd = -1;
  #dirFdPath = '';
  /** small files are written on a native thread when the root started empty */
  #queue: NativeFileQueue | null = null;
  /** queued, maybe not yet on disk: touching one of these drains the queue first */
  #pending = new Set<string>();
  /** every path this writer created (with a queue, the root started empty,
   * so this is exactly what exists) */
  #created = new Set<string>();
  readonly #uid = process.getuid?.() ?? 0;
  readonly #gid = process.getgid?.() ?? 0;

  readonly root: string;

  constructor(
    root: string,
    private readonly fsx: Pick<NativeFsApi, 'mknod' | 'lsetxattr' | 'writeNewFileAt' | 'FileQueue'>,
    private readonly whiteouts: WhiteoutMode = 'overlay',
  ) {
    this.root = path.resolve(root);
    this.#knownDirs.add(this.root);
    if (whiteouts === 'overlay' && fs.readdirSync(this.root).length === 0) this.#queue = new fsx.FileQueue();
  }

  entry(e: TarEntry): void {
    this.stats.entries++;
    const comps = entryComponents(e.path);
    if (comps.length === 0) {
      if (e.type !== 'directory') throw new UnsafePathError(e.path, 'the layer root must be a directory');
      this.#setMeta(this.root, e, true);
      return;
    }
    const base = comps[comps.length - 1];
    const parent = this.#resolveDir(comps.slice(0, -1), e.path, true);
    const wo = whiteoutOf(base, e.path);
    if (wo) {
      this.stats.whiteouts++;
      if (wo.kind === 'opaque') this.#opaque(parent);
      else this.#whiteout(path.join(parent, wo.name));
      return;
    }
    const target = path.join(parent, base);
    if (this.whiteouts === 'apply') this.#written.add(target);
    switch (e.type) {
      case 'directory': return this.#directory(target, e);
      case 'file': return this.#openFile(target, e);
      case 'symlink': return this.#symlink(target, comps, e);
      case 'hardlink': return this.#hardlink(target, e);
      case 'char': case 'block': case 'fifo': return this.#node(target, e);
    }
  }

  data(chunk: Buffer): void {
    if (this.#small) {
      this.#small.push(chunk);
      this.stats.bytes += chunk.length;
      return;
    }
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.#fd, chunk, off, chunk.length - off);
    this.stats.bytes += chunk.length;
  }

  end(): void {
    const e = this.#current;
    if (!e) return;
    if (this.#small) {
      const body = this.#small.length === 1 ? this.#small[0] : Buffer.concat(this.#small);
      this.#small = null;
      this.#current = null;
      this.#writeSmall(this.#currentPath, body, e);
      return;
    }
    try {
      fs.fchownSync(this.#fd, e.uid, e.gid);
      fs.fchmodSync(this.#fd, e.mode); // after chown: chown clears setuid/setgid
      this.#xattrs(this.#currentPath, e);
      fs.futimesSync(this.#fd, e.atime ?? e.mtime, e.mtime);
    } finally {
      fs.closeSync(this.#fd);
      this.#fd = -1;
      this.#current = null;
    }
  }

  /** Wait for queued writes (they must land before anything else touches the tree). */
  #drain(): void {
    if (this.#queue && this.#pending.size > 0) this.#queue.drain();
    this.#pending.clear();
  }

  /** About to look at or change `p`: make sure a queued write of it has landed. */
  #touch(p: string): void {
    if (this.#pending.has(p)) this.#drain();
  }

  #created_(p: string): void {
    if (this.#queue) this.#created.add(p);
  }

  #closeDirFd(): void {
    if (this.#dirFd >= 0) fs.closeSync(this.#dirFd);
    this.#dirFd = -1;
    this.#dirFdPath = '';
  }

  /** Set directory times last (children change them) and release the file. */
  finish(): void {
    this.#closeDirFd();
    if (this.#queue) {
      this.#drain();
      this.#queue.close();
      this.#queue = null;
    }
    if (this.#fd >= 0) {
      fs.closeSync(this.#fd);
      this.#fd = -1;
    }
    for (let i = this.#dirTimes.length - 1; i >= 0; i--) {
      const [p, atime, mtime] = this.#dirTimes[i];
      fs.lutimesSync(p, atime, mtime);
    }
    this.#dirTimes = [];
  }

  /** Close anything open after a failure (the caller removes the tree). */
  abort(): void {
    this.#closeDirFd();
    this.#queue?.close(); // joins the writer thread; its error (if any) is moot
    this.#queue = null;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  #writeSmall(target: string, body: Buffer, e: TarEntry): void {
    const ms = e.mtime.getTime();
    const sec = Math.floor(ms / 1000);
    const nsec = (ms - sec * 1000) * 1e6;
    const chown = e.uid !== this.#uid || e.gid !== this.#gid;
    const dir = path.dirname(target);
    const name = path.basename(target);
    if (this.#queue) {
      this.#touch(target);
      if (this.#created.has(target)) this.#remove(target);
      this.#queue.enqueue(dir, name, body, e.mode, e.uid, e.gid, sec, nsec, chown);
      this.#pending.add(target);
      this.#created.add(target);
      if (e.xattrs.size > 0) {
        this.#drain();
        this.#xattrs(target, e);
      }
      return;
    }
    if (dir !== this.#dirFdPath) {
      this.#closeDirFd();
      this.#dirFd = fs.openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      this.#dirFdPath = dir;
    }
    try {
      this.fsx.writeNewFileAt(this.#dirFd, name, body, e.mode, e.uid, e.gid, sec, nsec, chown);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.#remove(target);
      this.fsx.writeNewFileAt(this.#dirFd, name, body, e.mode, e.uid, e.gid, sec, nsec, chown);
    }
    this.#xattrs(target, e);
  }

  #openFile(target: string, e: TarEntry): void {
    this.stats.files++;
    if (e.size <= SMALL_FILE) {
      this.#small = [];
      this.#current = e;
      this.#currentPath = target;
      return;
    }
    this.#touch(target);
    this.#created_(target);
    let fd: number;
    try {
      fd = fs.openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.#remove(target);
      fd = fs.openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    }
    this.#fd = fd;
    this.#current = e;
    this.#currentPath = target;
  }

  #directory(target: string, e: TarEntry): void {
    this.#touch(target);
    this.#created_(target);
    const st = fs.lstatSync(target, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) this.#remove(target);
    if (!st || !st.isDirectory()) fs.mkdirSync(target, 0o700);
    this.#knownDirs.add(target);
    this.#setMeta(target, e, true);
  }

  #symlink(target: string, comps: string[], e: TarEntry): void {
    if (symlinkEscapes(comps, e.linkpath)) {
      throw new UnsafePathError(e.path, `symlink target ${JSON.stringify(e.linkpath)} points outside the layer`);
    }
    this.#replaceable(target);
    this.#created_(target);
    fs.symlinkSync(e.linkpath, target);
    fs.lchownSync(target, e.uid, e.gid);
    this.#xattrs(target, e);
    fs.lutimesSync(target, e.atime ?? e.mtime, e.mtime);
  }

  #hardlink(target: string, e: TarEntry): void {
    const linkComps = entryComponents(e.linkpath);
    if (linkComps.length === 0) throw new UnsafePathError(e.path, 'hardlink to the layer root');
    const srcParent = this.#resolveDir(linkComps.slice(0, -1), e.path, false);
    const src = path.join(srcParent, linkComps[linkComps.length - 1]);
    this.#touch(src);
    const st = fs.lstatSync(src, { throwIfNoEntry: false });
    if (!st) throw new UnsafePathError(e.path, `hardlink target ${JSON.stringify(e.linkpath)} does not exist in this layer`);
    if (st.isDirectory()) throw new UnsafePathError(e.path, `hardlink target ${JSON.stringify(e.linkpath)} is a directory`);
    if (src === target) return;
    this.#replaceable(target);
    this.#created_(target);
    fs.linkSync(src, target); // link(2) does not follow a final symlink: the link stays inside
  }

  #node(target: string, e: TarEntry): void {
    this.#replaceable(target);
    this.#created_(target);
    const type = e.type === 'char' ? S_IFCHR : e.type === 'block' ? S_IFBLK : S_IFIFO;
    this.fsx.mknod(target, type | 0o600, e.devmajor, e.devminor);
    this.#setMeta(target, e, false);
  }

  #whiteout(target: string): void {
    if (this.whiteouts === 'apply') {
      this.#remove(target);
      return;
    }
    this.#replaceable(target);
    this.#created_(target);
    this.fsx.mknod(target, S_IFCHR, 0, 0);
  }

  #opaque(dir: string): void {
    if (this.whiteouts === 'overlay') {
      this.fsx.lsetxattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (!this.#written.has(p)) this.#remove(p);
    }
  }

  /** chown, chmod (after chown: it clears setuid), xattrs; times now or, for directories, at finish */
  #setMeta(target: string, e: TarEntry, isDir: boolean): void {
    fs.lchownSync(target, e.uid, e.gid);
    fs.chmodSync(target, e.mode);
    this.#xattrs(target, e);
    if (isDir) this.#dirTimes.push([target, e.atime ?? e.mtime, e.mtime]);
    else fs.lutimesSync(target, e.atime ?? e.mtime, e.mtime);
  }

  #xattrs(target: string, e: TarEntry): void {
    for (const [name, value] of e.xattrs) {
      if (name.startsWith('trusted.overlay.')) {
        this.stats.droppedXattrs++; // only whiteout entries may steer overlayfs
        continue;
      }
      this.fsx.lsetxattr(target, name, value);
    }
  }

  /** Make room for a new non-directory entry at target. */
  #replaceable(target: string): void {
    this.#touch(target);
    if (fs.lstatSync(target, { throwIfNoEntry: false })) this.#remove(target);
  }

  #remove(target: string): void {
    this.#touch(target);
    const st = fs.lstatSync(target, { throwIfNoEntry: false });
    if (!st) return;
    this.#created.delete(target);
    if (st.isDirectory()) {
      this.#drain(); // queued files may live below it
      for (const p of this.#created) if (p.startsWith(`${target}/`)) this.#created.delete(p);
      if (this.#dirFdPath === target || this.#dirFdPath.startsWith(`${target}/`)) this.#closeDirFd();
      fs.rmSync(target, { recursive: true, force: true }); // rm never follows symlinks
      for (const d of this.#knownDirs) if (d === target || d.startsWith(`${target}/`)) this.#knownDirs.delete(d);
      this.#dirTimes = this.#dirTimes.filter(([p]) => p !== target && !p.startsWith(`${target}/`));
    } else fs.unlinkSync(target);
  }

  /** Resolve directory components under the root, following symlinks only
   * inside it; missing directories are created (0755, root) when `create`. */
  #resolveDir(comps: string[], entry: string, create: boolean): string {
    let cur = this.root;
    const queue = [...comps];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (cur !== this.root) cur = path.dirname(cur); // clamp at the root
        continue;
      }
      const next = `${cur}/${c}`;
      if (this.#knownDirs.has(next)) {
        cur = next;
        continue;
      }
      this.#touch(next);
      const st = fs.lstatSync(next, { throwIfNoEntry: false });
      if (!st) {
        if (!create) throw new UnsafePathError(entry, `${path.relative(this.root, next)} does not exist`);
        this.#created_(next);
        fs.mkdirSync(next, 0o755);
        fs.chmodSync(next, 0o755);
        this.#knownDirs.add(next);
        cur = next;
      } else if (st.isDirectory()) {
        this.#knownDirs.add(next);
        cur = next;
      } else if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new UnsafePathError(entry, 'too many levels of symbolic links');
        const t = fs.readlinkSync(next);
        if (t.startsWith('/')) cur = this.root;
        queue.unshift(...t.split('/'));
      } else {
        throw new UnsafePathError(entry, `${path.relative(this.root, next)} is not a directory`);
      }
    }
    return cur;
  }
}
