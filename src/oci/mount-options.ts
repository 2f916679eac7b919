/** OCI mount options → mount(2) flags, propagation flags and fs data, the
 * way runc parses them (unknown options become filesystem data). */
export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64,
  DIRSYNC: 128, NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192,
  REC: 16384, SILENT: 32768, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20,
  RELATIME: 1 << 21, I_VERSION: 1 << 23, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

/** option → [set?, flag] */
const FLAG_OPTIONS: Readonly<Record<string, readonly [boolean, number]>> = {
  ro: [true, MS.RDONLY], rw: [false, MS.RDONLY],
  nosuid: [true, MS.NOSUID], suid: [false, MS.NOSUID],
  nodev: [true, MS.NODEV], dev: [false, MS.NODEV],
  noexec: [true, MS.NOEXEC], exec: [false, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS], async: [false, MS.SYNCHRONOUS],
  dirsync: [true, MS.DIRSYNC],
  remount: [true, MS.REMOUNT],
  mand: [true, MS.MANDLOCK], nomand: [false, MS.MANDLOCK],
  atime: [false, MS.NOATIME], noatime: [true, MS.NOATIME],
  diratime: [false, MS.NODIRATIME], nodiratime: [true, MS.NODIRATIME],
  bind: [true, MS.BIND], rbind: [true, MS.BIND | MS.REC],
  relatime: [true, MS.RELATIME], norelatime: [false, MS.RELATIME],
  strictatime: [true, MS.STRICTATIME], nostrictatime: [false, MS.STRICTATIME],
  lazytime: [true, MS.LAZYTIME], nolazytime: [false, MS.LAZYTIME],
  silent: [true, MS.SILENT], loud: [false, MS.SILENT],
  iversion: [true, MS.I_VERSION], noiversion: [false, MS.I_VERSION],
  nosymfollow: [true, MS.NOSYMFOLLOW], symfollow: [false, MS.NOSYMFOLLOW],
};

const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options podrun knows but does not implement: rejected, never dropped. */
const UNSUPPORTED = new Set(['idmap', 'ridmap', 'tmpcopyup', 'recursive-ro', 'rro', 'recursive-rw', 'rrw']);

/** podrun's own bind option: the mount's source is a trusted directory (a
 * pod volume) and REL is a path inside it chosen by someone untrusted (a
 * subPath). The launch child resolves REL beneath the source without ever
 * leaving it (openat2 RESOLVE_BENEATH) and mounts the fd it got, so a symlink
 * planted in the volume cannot point the mount at the host. */
export const SUBPATH_OPTION = 'x-podrun.subpath=';

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  data: string;
  /** SUBPATH_OPTION's value */
  subpath?: string;
  /** an option podrun refuses, if any */
  unsupported?: string;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  let subpath: string | undefined;
  for (const opt of options) {
    if (opt.startsWith(SUBPATH_OPTION)) {
      subpath = opt.slice(SUBPATH_OPTION.length);
      continue;
    }
    const f = FLAG_OPTIONS[opt];
    if (f) {
      flags = f[0] ? flags | f[1] : flags & ~f[1];
      continue;
    }
    const p = PROPAGATION[opt];
    if (p !== undefined) {
      propagation |= p;
      continue;
    }
    if (UNSUPPORTED.has(opt)) return { flags, propagation, data: data.join(','), unsupported: opt };
    data.push(opt);
  }
  return { flags, propagation, data: data.join(','), ...(subpath !== undefined ? { subpath } : {}) };
}

export function propagationFlags(name: string): number | undefined {
  return PROPAGATION[name];
}
