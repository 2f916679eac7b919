/** LaunchPlan → the binary records native/launch/plan.c decodes.
 * Record: u16 tag, u16 0, u32 length, payload; little endian; strings NUL-terminated. */
import type { LaunchPlan } from './launch-plan';

const T = {
  NEW_NS: 1, NS_JOIN: 2, UID_MAP: 3, GID_MAP: 4, CGROUP: 5, ROOTFS: 6, ROOTFS_PROP: 7,
  READONLY_ROOT: 8, NO_PIVOT: 9, MOUNT: 10, DEVICE: 11, SYMLINK: 12, MASKED: 13, READONLY: 14,
  HOSTNAME: 15, DOMAINNAME: 16, SYSCTL: 17, RLIMIT: 18, OOM_SCORE_ADJ: 19, CAPS: 20,
  NO_NEW_PRIVS: 21, SECCOMP: 22, SECCOMP_ARCH: 23, SECCOMP_RULE: 24, USER: 25, GIDS: 26,
  UMASK: 27, CWD: 28, ARG: 29, ENV: 30, PRESERVE_FDS: 31, ROOTFS_PARENT: 32, WAIT_START: 33, CONSOLE: 34, HOOK_PAUSE: 35, DEV_RULE: 36, STDIO_FD: 37, STDIN_FD: 38, HOST_MOUNT_NS: 39, STDOUT_FD: 40, STDERR_FD: 41, IDMAP_EXPECT: 42, MOUNT_ATTR: 43,
} as const;

type Field = { u32: number } | { i32: number } | { u64: bigint | number } | { str: string };

/** Records written into one growing buffer through a DataView: a plan has
 * hundreds (the seccomp rules), encoded once per process, before the JIT
 * has warmed up, where Buffer's checked writeUInt* calls cost ~1 ms each hundred. */
class RecordWriter {
  #buf = Buffer.allocUnsafe(16 << 10);
  #view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
  #len = 0;

  add(tag: number, ...fields: Field[]): void {
    const head = this.#len;
    this.#reserve(8);
    this.#view.setUint16(head, tag, true);
    this.#view.setUint16(head + 2, 0, true);
    this.#len += 8;
    for (const f of fields) this.#field(f);
    this.#view.setUint32(head + 4, this.#len - head - 8, true);
  }

  buffer(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  #field(f: Field): void {
    if ('str' in f) {
      if (f.str.includes('\0')) throw new Error(`string contains NUL: ${JSON.stringify(f.str)}`);
      this.#reserve(f.str.length * 3 + 1); // UTF-8 never needs more
      this.#len += this.#buf.write(f.str, this.#len, 'utf8');
      this.#buf[this.#len++] = 0;
      return;
    }
    if ('u64' in f) {
      this.#reserve(8);
      this.#view.setBigUint64(this.#len, BigInt.asUintN(64, BigInt(f.u64)), true);
      this.#len += 8;
      return;
    }
    this.#reserve(4);
    if ('i32' in f) this.#view.setInt32(this.#len, f.i32, true);
    else this.#view.setUint32(this.#len, f.u32 >>> 0, true);
    this.#len += 4;
  }
}

const s = (str: string): Field => ({ str });
const u32 = (n: number): Field => ({ u32: n });
const u64 = (n: bigint | number): Field => ({ u64: n });

export function encodePlan(p: LaunchPlan): Buffer {
  const w = new RecordWriter();
  if (p.newNamespaces) w.add(T.NEW_NS, u64(p.newNamespaces));
  for (const j of p.joins) w.add(T.NS_JOIN, u32(j.type), s(j.path));
  if (p.uidMap !== undefined) w.add(T.UID_MAP, s(p.uidMap));
  if (p.gidMap !== undefined) w.add(T.GID_MAP, s(p.gidMap));
  if (p.cgroup) w.add(T.CGROUP, s(p.cgroup));
  if (p.rootfs) {
    w.add(T.ROOTFS, s(p.rootfs));
    if (p.rootfsParent) w.add(T.ROOTFS_PARENT, s(p.rootfsParent));
    if (p.rootfsPropagation) w.add(T.ROOTFS_PROP, u64(p.rootfsPropagation));
    if (p.readonlyRoot) w.add(T.READONLY_ROOT);
    if (p.idmapExpect) w.add(T.IDMAP_EXPECT, s(p.idmapExpect.uidMap), s(p.idmapExpect.gidMap));
    if (p.noPivot) w.add(T.NO_PIVOT);
    for (const m of p.mounts) {
      // kind: 0 a filesystem, 1 a bind, 2 a bind of data resolved beneath source (native/launch/launch.h)
      // (| 0x100: idmapped with the joined user namespace)
      const kind = (!m.bind ? 0 : m.subpath !== undefined ? 2 : 1) | (m.idmap ? 0x100 : 0);
      w.add(T.MOUNT, u64(m.flags), u64(m.propagation), u32(kind), s(m.source), s(m.destination), s(m.type), s((kind & 0xff) === 2 ? m.subpath! : m.data));
      if (m.recursive) w.add(T.MOUNT_ATTR, u64(m.recursive.set), u64(m.recursive.clear));
    }
    for (const d of p.devices) {
      w.add(T.DEVICE, u32(d.type), u32(d.major), u32(d.minor), u32(d.mode), u32(d.uid), u32(d.gid), u32(d.bind ? 1 : 0), s(d.path));
    }
    for (const l of p.symlinks) w.add(T.SYMLINK, s(l.target), s(l.path));
    for (const m of p.maskedPaths) w.add(T.MASKED, s(m));
    for (const r of p.readonlyPaths) w.add(T.READONLY, s(r));
    for (const c of p.sysctls) w.add(T.SYSCTL, s(c.path), s(c.value));
  }
  if (p.hostname !== undefined) w.add(T.HOSTNAME, s(p.hostname));
  if (p.domainname !== undefined) w.add(T.DOMAINNAME, s(p.domainname));
  for (const r of p.rlimits) w.add(T.RLIMIT, u32(r.resource), u64(r.soft), u64(r.hard));
  if (p.oomScoreAdj !== undefined) w.add(T.OOM_SCORE_ADJ, { i32: p.oomScoreAdj });
  if (p.capabilities) {
    const c = p.capabilities;
    w.add(T.CAPS, u64(c.bounding), u64(c.effective), u64(c.permitted), u64(c.inheritable), u64(c.ambient));
  }
  if (p.noNewPrivileges) w.add(T.NO_NEW_PRIVS);
  if (p.seccomp) {
    const sc = p.seccomp;
    w.add(T.SECCOMP, u32(sc.defaultAction), u32(sc.flags));
    for (const a of sc.architectures) w.add(T.SECCOMP_ARCH, s(a));
    for (const r of sc.rules) {
      const args = r.args.flatMap((a) => [u32(a.index), u32(a.op), u64(a.value), u64(a.value2)]);
      w.add(T.SECCOMP_RULE, u32(r.action), u32(r.args.length), ...args, s(r.name));
    }
  }
  if (p.user) {
    w.add(T.USER, u32(p.user.uid), u32(p.user.gid));
    for (const g of p.user.additionalGids) w.add(T.GIDS, u32(g));
    if (p.user.umask !== undefined) w.add(T.UMASK, u32(p.user.umask));
  }
  if (p.cwd) w.add(T.CWD, s(p.cwd));
  for (const a of p.args) w.add(T.ARG, s(a));
  for (const e of p.env) w.add(T.ENV, s(e));
  if (p.preserveFds) w.add(T.PRESERVE_FDS, u32(p.preserveFds));
  if (p.stdioFd !== undefined) w.add(T.STDIO_FD, u32(p.stdioFd));
  if (p.stdinFd !== undefined) w.add(T.STDIN_FD, u32(p.stdinFd));
  if (p.stdoutFd !== undefined) w.add(T.STDOUT_FD, u32(p.stdoutFd));
  if (p.stderrFd !== undefined) w.add(T.STDERR_FD, u32(p.stderrFd));
  if (p.waitStart) w.add(T.WAIT_START);
  if (p.hookPause) w.add(T.HOOK_PAUSE);
  if (p.hostMountNs) w.add(T.HOST_MOUNT_NS);
  for (const r of p.deviceRules ?? []) w.add(T.DEV_RULE, u32(r.allow ? 1 : 0), u32(r.type), u64(r.major), u64(r.minor), u32(r.access));
  if (p.console) w.add(T.CONSOLE, u32(p.console.rows), u32(p.console.cols), s(p.console.socket));
  return w.buffer();
}
