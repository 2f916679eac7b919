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

/** mount_setattr(2)'s MOUNT_ATTR_* (linux/mount.h). The access-time modes are a 3-bit field, not flags. */
export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8,
  ATIME_MASK: 0x70, RELATIME: 0x0, NOATIME: 0x10, STRICTATIME: 0x20,
  NODIRATIME: 0x80, NOSYMFOLLOW: 0x200000,
} as const;

/** The runtime spec's recursive options (runc's, since 1.1): an attribute set on the mount and every mount below it
 * (mount_setattr with AT_RECURSIVE), where the plain option changes the top mount only. option → [set?, attribute].
 * An access-time option names a mode of the 3-bit field; its "no" forms ask for the kernel's default, relatime
 * (mount(2) gives relatime without MS_RELATIME too, unless strictatime or noatime is asked). */
const RECURSIVE_OPTIONS: Readonly<Record<string, readonly [boolean, number]>> = {
  rro: [true, MOUNT_ATTR.RDONLY], rrw: [false, MOUNT_ATTR.RDONLY],
  rnosuid: [true, MOUNT_ATTR.NOSUID], rsuid: [false, MOUNT_ATTR.NOSUID],
  rnodev: [true, MOUNT_ATTR.NODEV], rdev: [false, MOUNT_ATTR.NODEV],
  rnoexec: [true, MOUNT_ATTR.NOEXEC], rexec: [false, MOUNT_ATTR.NOEXEC],
  rnodiratime: [true, MOUNT_ATTR.NODIRATIME], rdiratime: [false, MOUNT_ATTR.NODIRATIME],
  rnosymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW], rsymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
};
const RECURSIVE_ATIME: Readonly<Record<string, number>> = {
  rrelatime: MOUNT_ATTR.RELATIME, rnoatime: MOUNT_ATTR.NOATIME, rstrictatime: MOUNT_ATTR.STRICTATIME,
  rnorelatime: MOUNT_ATTR.RELATIME, ratime: MOUNT_ATTR.RELATIME, rnostrictatime: MOUNT_ATTR.RELATIME,
};

/** Options podrun knows but does not implement: rejected, never dropped. */
const UNSUPPORTED = new Set(['idmap', 'ridmap', 'tmpcopyup']);

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
  /** the recursive options' attributes to set and clear (mount_setattr's attr_set/attr_clr), when any is asked */
  recursive?: { set: number; clear: number };
  /** an option podrun refuses, if any */
  unsupported?: string;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  let subpath: string | undefined;
  let recursive: { set: number; clear: number } | undefined;
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
    const r = RECURSIVE_OPTIONS[opt];
    const atime = RECURSIVE_ATIME[opt];
    if (r || atime !== undefined) {
      const { set, clear } = recursive ?? { set: 0, clear: 0 };
      // the last option for an attribute wins, as with the plain ones
      if (atime !== undefined) recursive = { set: (set & ~MOUNT_ATTR.ATIME_MASK) | atime, clear: clear | MOUNT_ATTR.ATIME_MASK };
      else if (r![0]) recursive = { set: set | r![1], clear: clear & ~r![1] };
      else recursive = { set: set & ~r![1], clear: clear | r![1] };
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
  return { flags, propagation, data: data.join(','), ...(subpath !== undefined ? { subpath } : {}), ...(recursive ? { recursive } : {}) };
}

export function propagationFlags(name: string): number | undefined {
  return PROPAGATION[name];
}
