/** OCI config → LaunchPlan: pure translation, no I/O. Anything podrun
 * cannot honour is an error naming the field; nothing is silently dropped. */
import path from 'node:path';
import { PodrunError, invalidField } from '../errors';
import { capabilityMask, capabilityNames } from './capabilities';
import { CLONE, type LaunchPlan, type PlanCapabilities, type PlanDevice, type PlanMount, type PlanNamespaceJoin, type PlanRlimit } from './launch-plan';
import { MS, SUBPATH_OPTION, parseMountOptions, propagationFlags } from './mount-options';
import { RLIMITS } from './rlimits';
import { planDeviceRules } from './device-rules';
import { buildSeccompPlan } from './seccomp';
import type { NamespaceType, OciConfig, OciLinux, OciMount, OciProcess } from './spec-schema';
import { isLocalDescendingPath } from '../util/in-root';

export interface PlanContext {
  /** absolute bundle directory; relative root.path and bind sources resolve against it */
  bundle: string;
  /** absolute cgroup v2 directory the process is cloned into */
  cgroup?: string;
  /** the runtime's own permitted capabilities, to report what it cannot grant */
  hostCapabilities?: bigint;
  noPivot?: boolean;
  preserveFds?: number;
  /** absolute path of the unix socket that receives the pty master (runc --console-socket) */
  consoleSocket?: string;
  /** podrun runs in a user namespace of the user's (rootless), with ids 0..ids-1: no device cgroup (the kernel refuses
   * its BPF program there, and the container, which cannot mknod, has only the host nodes podrun binds), devices
   * bound, and a devpts `gid=` the namespace cannot name left out (as runc does rootless) */
  rootless?: { ids: number; cgroupMount?: string };
}

export interface PlanResult {
  plan: LaunchPlan;
  warnings: string[];
}

const NS_FLAG: Readonly<Record<NamespaceType, number>> = {
  pid: CLONE.NEWPID, network: CLONE.NEWNET, mount: CLONE.NEWNS, ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS, user: CLONE.NEWUSER, cgroup: CLONE.NEWCGROUP, time: CLONE.NEWTIME,
};

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

interface Namespaces {
  created: number;
  joins: PlanNamespaceJoin[];
  /** types present (created or joined) */
  has: Set<NamespaceType>;
}

export function planNamespaces(linux: OciLinux | undefined): Namespaces {
  const ns: Namespaces = { created: 0, joins: [], has: new Set() };
  (linux?.namespaces ?? []).forEach((n, i) => {
    const field = `linux.namespaces[${i}]`;
    if (ns.has.has(n.type)) throw invalidField(field, `namespace type ${n.type} listed twice`);
    ns.has.add(n.type);
    if (n.path) ns.joins.push({ type: NS_FLAG[n.type], path: n.path, field: `${field}.path` });
    else ns.created |= NS_FLAG[n.type];
  });
  return ns;
}

function idMap(maps: { containerID: number; hostID: number; size: number }[] | undefined): string | undefined {
  return maps?.length ? maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('') : undefined;
}

function planUserNamespace(linux: OciLinux | undefined, ns: Namespaces): Pick<LaunchPlan, 'uidMap' | 'gidMap'> {
  const uidMap = idMap(linux?.uidMappings);
  const gidMap = idMap(linux?.gidMappings);
  if (ns.created & CLONE.NEWUSER) {
    if (!uidMap) throw invalidField('linux.uidMappings', 'required when creating a user namespace');
    if (!gidMap) throw invalidField('linux.gidMappings', 'required when creating a user namespace');
  } else if (uidMap || gidMap) {
    throw invalidField(uidMap ? 'linux.uidMappings' : 'linux.gidMappings', 'mappings need a new user namespace in linux.namespaces');
  }
  return { uidMap, gidMap };
}

export function planMount(m: OciMount, index: number, bundle: string): PlanMount {
  const field = `mounts[${index}]`;
  const idmap = m.uidMappings || m.gidMappings ? { uidMap: idMap(m.uidMappings), gidMap: idMap(m.gidMappings) } : undefined;
  if (idmap && (!idmap.uidMap || !idmap.gidMap)) throw invalidField(`${field}.${idmap.uidMap ? 'gidMappings' : 'uidMappings'}`, 'an idmapped mount needs both uidMappings and gidMappings');
  const opts = parseMountOptions(m.options);
  if (opts.unsupported) throw invalidField(`${field}.options`, `mount option ${JSON.stringify(opts.unsupported)} is not supported`);
  const type = m.type ?? '';
  const bind = type === 'bind' || (opts.flags & MS.BIND) !== 0;
  let source = m.source ?? '';
  if (bind) {
    if (!source) throw invalidField(`${field}.source`, 'a bind mount needs a source');
    source = path.resolve(bundle, source);
  }
  // podrun is cgroup v2 only: a v1-style "cgroup" mount gets cgroup2
  const isCgroup = type === 'cgroup' || type === 'cgroup2';
  if (!bind && !type) throw invalidField(`${field}.type`, 'required unless the options make it a bind mount');
  const subpath = opts.subpath;
  if (subpath !== undefined) {
    if (!bind) throw invalidField(`${field}.options`, `${SUBPATH_OPTION} is for bind mounts`);
    if (subpath === '' || !isLocalDescendingPath(subpath)) {
      throw invalidField(`${field}.options`, `${SUBPATH_OPTION}${subpath}: must be a relative path without ".."`);
    }
  }
  return {
    source: isCgroup ? 'cgroup2' : source || type,
    destination: path.posix.normalize(m.destination).replace(/(.)\/+$/, '$1'),
    type: bind ? '' : isCgroup ? 'cgroup2' : type,
    data: bind ? '' : opts.data,
    flags: bind ? opts.flags | MS.BIND : opts.flags & ~MS.BIND,
    propagation: opts.propagation,
    bind,
    ...(subpath !== undefined ? { subpath } : {}),
    ...(idmap ? { idmap: { uidMap: idmap.uidMap!, gidMap: idmap.gidMap! } } : {}),
    ...(opts.recursive ? { recursive: opts.recursive } : {}),
    field,
  };
}

/** Idmapped binds are made with the user namespace the container joins (by path): one mapping for all of them,
 * which the launch checks against that namespace's once it has joined (pure). */
function planIdmaps(mounts: PlanMount[], ns: Namespaces): LaunchPlan['idmapExpect'] {
  const idmapped = mounts.filter((m) => m.idmap);
  if (!idmapped.length) return undefined;
  const joinsUser = ns.joins.some((j) => j.type === CLONE.NEWUSER);
  for (const m of idmapped) {
    if (!m.bind) throw invalidField(`${m.field}.uidMappings`, 'idmapped mounts are bind mounts');
    if (!joinsUser) throw invalidField(`${m.field}.uidMappings`, 'idmapped mounts need a user namespace joined by path in linux.namespaces (podrun makes them with it)');
    if (m.idmap!.uidMap !== idmapped[0].idmap!.uidMap || m.idmap!.gidMap !== idmapped[0].idmap!.gidMap) {
      throw invalidField(`${m.field}.uidMappings`, `differs from ${idmapped[0].field}'s: all idmapped mounts use the joined user namespace's mappings`);
    }
  }
  return idmapped[0].idmap;
}

const DEFAULT_DEVICES: readonly { path: string; major: number; minor: number }[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

/** Default devices plus linux.devices (which override by path). */
export function planDevices(linux: OciLinux | undefined, inUserns: boolean): PlanDevice[] {
  const byPath = new Map<string, PlanDevice>();
  for (const d of DEFAULT_DEVICES) {
    byPath.set(d.path, { ...d, type: S_IFCHR, mode: 0o666, uid: 0, gid: 0, bind: inUserns, field: `default device ${d.path}` });
  }
  (linux?.devices ?? []).forEach((d, i) => {
    const field = `linux.devices[${i}]`;
    if (!d.path.startsWith('/dev/')) throw invalidField(`${field}.path`, 'devices must be under /dev');
    const type = d.type === 'b' ? S_IFBLK : d.type === 'p' ? S_IFIFO : S_IFCHR;
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      throw invalidField(field, `major and minor are required for type ${d.type}`);
    }
    // mknod is not allowed in a user namespace: the host's node at the same path is bound instead
    byPath.set(d.path, {
      path: d.path, type, major: d.major ?? 0, minor: d.minor ?? 0, mode: d.fileMode ?? 0o666,
      uid: d.uid ?? 0, gid: d.gid ?? 0, bind: inUserns, field,
    });
  });
  return [...byPath.values()];
}

function devSymlinks(mounts: PlanMount[]): { target: string; path: string }[] {
  const links = [
    { target: '/proc/self/fd', path: '/dev/fd' },
    { target: '/proc/self/fd/0', path: '/dev/stdin' },
    { target: '/proc/self/fd/1', path: '/dev/stdout' },
    { target: '/proc/self/fd/2', path: '/dev/stderr' },
  ];
  if (mounts.some((m) => m.destination === '/dev/pts' && m.type === 'devpts')) links.push({ target: 'pts/ptmx', path: '/dev/ptmx' });
  return links;
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** Only namespaced sysctls are allowed, each needing its namespace (runc's rules). */
export function planSysctls(sysctl: Record<string, string> | undefined, ns: Namespaces): LaunchPlan['sysctls'] {
  return Object.entries(sysctl ?? {}).map(([key, value]) => {
    const field = `linux.sysctl[${JSON.stringify(key)}]`;
    if (!/^[a-z0-9_./-]+$/i.test(key) || key.includes('..')) throw invalidField(field, 'not a valid sysctl name');
    const ipc = IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.');
    if (ipc && !ns.has.has('ipc')) throw invalidField(field, 'needs an IPC namespace in linux.namespaces');
    if (key.startsWith('net.') && !ns.has.has('network')) throw invalidField(field, 'needs a network namespace in linux.namespaces');
    if (key === 'kernel.hostname' || key === 'kernel.domainname') throw invalidField(field, 'use the hostname/domainname fields');
    if (!ipc && !key.startsWith('net.')) throw invalidField(field, 'is not namespaced: setting it would change the host');
    return { path: `/proc/sys/${key.replace(/\./g, '/')}`, value, field };
  });
}

export function planRlimits(proc: OciProcess): PlanRlimit[] {
  const seen = new Set<string>();
  return (proc.rlimits ?? []).map((r, i) => {
    const field = `process.rlimits[${i}]`;
    const resource = RLIMITS[r.type];
    if (resource === undefined) throw invalidField(`${field}.type`, `unknown rlimit ${JSON.stringify(r.type)}`);
    if (seen.has(r.type)) throw invalidField(`${field}.type`, `${r.type} given twice`);
    seen.add(r.type);
    if (r.soft > r.hard) throw invalidField(field, `soft limit ${r.soft} exceeds hard limit ${r.hard}`);
    return { type: r.type, resource, soft: BigInt(r.soft), hard: BigInt(r.hard), field };
  });
}

export function planCapabilities(proc: OciProcess, hostCaps: bigint | undefined, inUserns: boolean, warnings: string[] = []): PlanCapabilities {
  const c = proc.capabilities ?? {};
  const caps: PlanCapabilities = {
    bounding: capabilityMask(c.bounding, 'process.capabilities.bounding'),
    effective: capabilityMask(c.effective, 'process.capabilities.effective'),
    permitted: capabilityMask(c.permitted, 'process.capabilities.permitted'),
    inheritable: capabilityMask(c.inheritable, 'process.capabilities.inheritable'),
    ambient: capabilityMask(c.ambient, 'process.capabilities.ambient'),
  };
  if (hostCaps !== undefined && !inUserns) {
    for (const set of ['permitted', 'effective', 'inheritable', 'ambient'] as const) {
      const missing = caps[set] & ~hostCaps;
      if (missing) {
        throw new PodrunError(
          'EHOST',
          `process.capabilities.${set}: ${capabilityNames(missing).join(', ')} cannot be granted: podrun itself does not hold ${missing & (missing - 1n) ? 'them' : 'it'} on this host`,
          { field: `process.capabilities.${set}` },
        );
      }
    }
  }
  // the kernel raises an ambient capability only if it is permitted and inheritable: runc and crun
  // skip the others (`runc spec`'s own default lists ambient ones without inheritable), so do we, saying so
  const unraisable = caps.ambient & ~(caps.permitted & caps.inheritable);
  if (unraisable) {
    warnings.push(`process.capabilities.ambient: ${capabilityNames(unraisable).join(', ')} not raised: an ambient capability must also be permitted and inheritable`);
    caps.ambient &= ~unraisable;
  }
  return caps;
}

/** process.terminal needs somewhere to send the pty master, as with runc. */
export function planConsole(proc: OciProcess, consoleSocket: string | undefined): LaunchPlan['console'] {
  if (!proc.terminal) {
    if (consoleSocket) throw invalidField('process.terminal', '--console-socket was given but the process does not ask for a terminal');
    return undefined;
  }
  if (!consoleSocket) throw invalidField('process.terminal', 'a terminal needs --console-socket to send the pty master to');
  return { socket: consoleSocket, rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0 };
}

/** Process fields podrun knows and refuses rather than ignores (a container's
 * process and an exec'd one alike). */
export function rejectUnsupportedProcess(p: OciProcess | undefined): void {
  if (p?.apparmorProfile) throw invalidField('process.apparmorProfile', 'AppArmor is not supported by podrun');
  if (p?.selinuxLabel) throw invalidField('process.selinuxLabel', 'SELinux is not supported by podrun');
  if (p?.scheduler) throw invalidField('process.scheduler', 'not supported yet');
  if (p?.ioPriority) throw invalidField('process.ioPriority', 'not supported yet');
  if (p?.execCPUAffinity) throw invalidField('process.execCPUAffinity', 'not supported yet');
  if (p?.user.username) throw invalidField('process.user.username', 'only meaningful on Windows');
}

/** Fields of the spec podrun knows and refuses rather than ignores. */
function rejectUnsupported(cfg: OciConfig): void {
  rejectUnsupportedProcess(cfg.process);
  const l = cfg.linux;
  if (l?.mountLabel) throw invalidField('linux.mountLabel', 'SELinux is not supported by podrun');
  if (l?.intelRdt) throw invalidField('linux.intelRdt', 'not supported');
  if (l?.personality) throw invalidField('linux.personality', 'not supported yet');
  if (l?.timeOffsets && Object.keys(l.timeOffsets).length) throw invalidField('linux.timeOffsets', 'not supported yet');
}

/** Rootless, a namespace the container does not list is the host's (the user's namespace keeps the host's network,
 * PID and IPC namespaces), which belongs to the host's user namespace: sysfs, proc and mqueue cannot be mounted for
 * it there (EPERM). The host's own are bound instead, recursively (a user namespace may not bind a mount without the
 * mounts on it), as podman and runc do rootless. Pure. */
export function rootlessHostNamespaceMounts(mounts: PlanMount[], has: ReadonlySet<NamespaceType>, cgroupMount = '/sys/fs/cgroup'): PlanMount[] {
  // cgroup2 too, without a cgroup namespace of its own (rootless podman on a host it deems cgroup v1): the host's
  // cgroup2 mount, as runc binds it when the mount fails there
  const hostOf: Record<string, [NamespaceType, string]> = { sysfs: ['network', '/sys'], proc: ['pid', '/proc'], mqueue: ['ipc', '/dev/mqueue'], cgroup2: ['cgroup', cgroupMount] };
  return mounts.map((m) => {
    const host = hostOf[m.type];
    if (!host || has.has(host[0])) return m;
    return { ...m, source: host[1], type: '', data: '', flags: m.flags | MS.BIND | MS.REC, bind: true };
  });
}

/** devpts options without a `gid=` outside the namespace's ids 0..ids-1 (the mount would fail with EINVAL). */
export function devptsDataFor(data: string, ids: number): string {
  return data.split(',').filter((o) => !(o.startsWith('gid=') && !(Number(o.slice(4)) < ids))).join(',');
}

export function buildLaunchPlan(cfg: OciConfig, ctx: PlanContext): PlanResult {
  rejectUnsupported(cfg);
  const proc = cfg.process;
  if (!proc?.args?.length) throw invalidField('process.args', 'required to start a container');
  const linux = cfg.linux;
  const ns = planNamespaces(linux);
  const inUserns = (ns.created & CLONE.NEWUSER) !== 0;
  const warnings: string[] = [];
  // no mount namespace at all: the container's mounts are made in ours and its root is a chroot, as runc
  // does (runtime-spec: a namespace not listed is inherited). A joined one (by path) is used as it is.
  const hostMountNs = !ns.has.has('mount');
  if (hostMountNs) {
    warnings.push("linux.namespaces: no mount namespace: the container's mounts are made in the runtime's own mount namespace (removed at delete) and its root is a chroot, which a process holding CAP_SYS_CHROOT can leave");
  }
  if (cfg.hostname !== undefined && !ns.has.has('uts')) throw invalidField('hostname', 'setting a hostname needs a UTS namespace in linux.namespaces');
  if (cfg.domainname !== undefined && !ns.has.has('uts')) throw invalidField('domainname', 'setting a domainname needs a UTS namespace in linux.namespaces');

  let mounts = (cfg.mounts ?? []).map((m, i) => planMount(m, i, ctx.bundle));
  if (ctx.rootless) {
    for (const m of mounts) if (m.type === 'devpts') m.data = devptsDataFor(m.data, ctx.rootless.ids);
    mounts = rootlessHostNamespaceMounts(mounts, ns.has, ctx.rootless.cgroupMount);
  }
  const idmapExpect = planIdmaps(mounts, ns);
  let rootfsPropagation = 0;
  if (linux?.rootfsPropagation) rootfsPropagation = propagationFlags(linux.rootfsPropagation) ?? 0;

  const plan: LaunchPlan = {
    newNamespaces: ns.created,
    joins: ns.joins,
    ...planUserNamespace(linux, ns),
    ...(idmapExpect ? { idmapExpect } : {}),
    cgroup: ctx.cgroup,
    rootfs: path.resolve(ctx.bundle, cfg.root.path),
    rootfsPropagation,
    readonlyRoot: cfg.root.readonly ?? false,
    noPivot: ctx.noPivot ?? false,
    mounts,
    devices: planDevices(linux, inUserns || ctx.rootless !== undefined),
    symlinks: devSymlinks(mounts),
    maskedPaths: linux?.maskedPaths ?? [],
    readonlyPaths: linux?.readonlyPaths ?? [],
    hostname: cfg.hostname,
    domainname: cfg.domainname,
    sysctls: planSysctls(linux?.sysctl, ns),
    rlimits: planRlimits(proc),
    oomScoreAdj: proc.oomScoreAdj,
    capabilities: planCapabilities(proc, ctx.hostCapabilities, inUserns, warnings),
    noNewPrivileges: proc.noNewPrivileges ?? false,
    seccomp: linux?.seccomp ? buildSeccompPlan(linux.seccomp) : undefined,
    user: {
      uid: proc.user.uid,
      gid: proc.user.gid,
      // rootless: groups the namespace cannot name (an image's /etc/group memberships; a manifest's are refused by field)
      additionalGids: (proc.user.additionalGids ?? []).filter((g) => !ctx.rootless || g < ctx.rootless.ids),
      umask: proc.user.umask,
    },
    cwd: proc.cwd,
    args: proc.args,
    env: proc.env ?? [],
    preserveFds: ctx.preserveFds ?? 0,
    console: planConsole(proc, ctx.consoleSocket),
    deviceRules: ctx.rootless ? [] : planDeviceRules(linux?.resources?.devices, linux?.devices),
    ...(hostMountNs ? { hostMountNs } : {}),
  };
  return { plan, warnings };
}
