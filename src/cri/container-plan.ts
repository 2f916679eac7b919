/** A CRI ContainerConfig → the container's OCI config.json, composed of
 * small options in containerd's SpecOpts style (src/pod/container-spec.ts
 * does the same for a Pod's containers). Pure: what is on the host (rootfs,
 * the sandbox's namespace files, device numbers, profile files) arrives in
 * the context; errors name the request's fields as CRI spells them. */
import type { OciDevice } from '../oci/host-devices';
import { mergeEnv, processArgs, resolveUser, type ContainerDefaults } from '../image';
import { defaultSeccompProfile } from '../oci/default-seccomp';
import { defaultSpec } from '../oci/default-spec';
import type { OciConfig, OciMount, OciSeccomp } from '../oci/spec-schema';
import { ALL_CAPS, DEFAULT_CAPS, grantPrivileged, type SandboxNamespaces } from '../pod';
import { invalidArgument } from './sandbox-plan';
import type { ContainerConfig, IDMapping, LinuxContainerResources, LinuxContainerSecurityContext, NamespaceMode, SecurityProfile } from './types';

export interface CriSandboxFacts {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  hostname: string;
  namespaces: SandboxNamespaces;
  hostNetwork: boolean;
  hostIPC: boolean;
  privileged: boolean;
  sysctls: Record<string, string>;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  shm: string;
  /** userns_options POD: the range its user namespace maps */
  userns?: { uidBase: number; gidBase: number; size: number };
}

export interface CriContainerContext {
  id: string;
  config: ContainerConfig;
  sandbox: CriSandboxFacts;
  rootfs: string;
  image: ContainerDefaults;
  imageName: string;
  passwd?: string;
  group?: string;
  /** the PID namespace of the TARGET container (namespace_options.target_id), resolved by the caller */
  targetPidNamespace?: string;
  /** a device node's type and numbers (devices[].host_path) */
  statDevice: (hostPath: string) => { type: 'c' | 'b'; major: number; minor: number; mode: number; uid: number; gid: number } | undefined;
  /** the text of a Localhost seccomp profile (an absolute host path, as kubelet resolves it) */
  readProfile: (file: string) => string;
  /** what a container gets when its request names no seccomp profile */
  defaultSeccomp: 'unconfined' | 'runtime-default';
  /** restrictOomScoreAdj: the server's own oom_score_adj, below which none is set */
  minOomScoreAdj?: number;
  /** the capabilities podrun holds: what privileged and ALL grant (containerd grants its own, too) */
  hostCapabilities: readonly string[];
  /** the host's devices, given to a privileged container (as containerd's WithHostDevices) */
  hostDevices?: readonly OciDevice[];
  /** SELinux is enforced on this host: relabel requests must be honoured, so they are refused */
  selinuxEnabled: boolean;
  /** the kernel sets mount attributes recursively (mount_setattr): recursive_read_only can be honoured */
  recursiveReadOnlyMounts?: boolean;
}

type CriSpecOpt = (c: OciConfig, ctx: CriContainerContext) => void;

const SC = 'config.linux.security_context';
const securityContext = (ctx: CriContainerContext): Partial<LinuxContainerSecurityContext> => ctx.config.linux?.security_context ?? {};

/** "NET_ADMIN" / "CAP_NET_ADMIN" / "ALL" → CAP_NET_ADMIN / CAP_ALL */
const capName = (c: string): string => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);

export const withCriProcess: CriSpecOpt = (c, ctx) => {
  const k = ctx.config;
  const p = c.process!;
  p.args = processArgs(ctx.image, k.command, k.args);
  if (!p.args.length) throw invalidArgument('config.command', 'no command: neither the request nor the image has one');
  const env = k.envs.map((e, i) => {
    if (!e.key) throw invalidArgument(`config.envs[${i}].key`, 'required');
    return `${e.key}=${e.value}`;
  });
  p.env = mergeEnv(mergeEnv(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ctx.image.env), [`HOSTNAME=${ctx.sandbox.hostname}`, ...env]);
  p.cwd = k.working_dir || ctx.image.workingDir || '/';
  if (!p.cwd.startsWith('/')) throw invalidArgument('config.working_dir', `${JSON.stringify(p.cwd)} is not absolute`);
  p.terminal = k.tty;
  const asked = Number(k.linux?.resources?.oom_score_adj ?? 0);
  const oom = ctx.minOomScoreAdj !== undefined ? Math.max(asked, ctx.minOomScoreAdj) : asked;
  if (oom) p.oomScoreAdj = oom;
};

/** run_as_user / run_as_username / run_as_group over the image's User; supplemental groups merged (or Strict). */
export const withCriUser: CriSpecOpt = (c, ctx) => {
  const sc = securityContext(ctx);
  if (sc.run_as_group && !sc.run_as_user && !sc.run_as_username) throw invalidArgument(`${SC}.run_as_group`, 'needs run_as_user or run_as_username');
  if (sc.run_as_user && sc.run_as_username) throw invalidArgument(`${SC}.run_as_username`, 'run_as_user and run_as_username are exclusive');
  const asked = sc.run_as_user ? String(sc.run_as_user.value) : sc.run_as_username || '';
  const field = sc.run_as_user ? `${SC}.run_as_user` : sc.run_as_username ? `${SC}.run_as_username` : 'config.image (config.User)';
  const user = resolveUser(asked || ctx.image.user, ctx.passwd, ctx.group, field);
  const gid = sc.run_as_group ? Number(sc.run_as_group.value) : user.gid;
  if (!Number.isInteger(gid) || gid < 0) throw invalidArgument(`${SC}.run_as_group`, `${gid} is not a group id`);
  const strict = sc.supplemental_groups_policy === 'Strict';
  const extra = new Set<number>([...(strict ? [] : user.additionalGids), ...(sc.supplemental_groups ?? []).map(Number)]);
  extra.delete(gid);
  c.process!.user = { uid: user.uid, gid, additionalGids: [...extra] };
};

export const withCriCapabilities: CriSpecOpt = (c, ctx) => {
  const sc = securityContext(ctx);
  const p = c.process!;
  p.noNewPrivileges = sc.no_new_privs === true;
  const every = ALL_CAPS.filter((x) => ctx.hostCapabilities.includes(x));
  if (sc.privileged) {
    p.capabilities = { bounding: every, effective: every, permitted: every };
    return;
  }
  const field = `${SC}.capabilities`;
  const check = (list: string[], at: string): string[] => list.map(capName).map((x, i) => {
    if (x !== 'CAP_ALL' && !ALL_CAPS.includes(x)) throw invalidArgument(`${field}.${at}[${i}]`, `unknown capability ${list[i]}`);
    return x;
  });
  const add = check(sc.capabilities?.add_capabilities ?? [], 'add_capabilities');
  const drop = new Set(check(sc.capabilities?.drop_capabilities ?? [], 'drop_capabilities'));
  const ambient = check(sc.capabilities?.add_ambient_capabilities ?? [], 'add_ambient_capabilities').filter((x) => x !== 'CAP_ALL');
  // containerd's order: ALL in add grants everything, then drops apply (ALL in drop: nothing but what add names)
  let caps = add.includes('CAP_ALL') ? [...every] : drop.has('CAP_ALL') ? [] : DEFAULT_CAPS.filter((x) => !drop.has(x));
  for (const a of add) if (a !== 'CAP_ALL' && !caps.includes(a)) caps.push(a);
  if (add.includes('CAP_ALL')) caps = caps.filter((x) => !drop.has(x));
  for (const a of ambient) if (!caps.includes(a)) caps.push(a);
  p.capabilities = { bounding: caps, effective: caps, permitted: caps, ...(ambient.length ? { inheritable: ambient, ambient } : {}) };
};

/** The sandbox's network, IPC and UTS namespaces; PID by the container's mode; mount and cgroup of its own. */
export const withCriNamespaces: CriSpecOpt = (c, ctx) => {
  const sb = ctx.sandbox;
  const ns = sb.namespaces;
  const pidMode: NamespaceMode = securityContext(ctx).namespace_options?.pid ?? 'POD';
  const list: NonNullable<OciConfig['linux']>['namespaces'] = [{ type: 'mount' }, { type: 'cgroup' }];
  // the sandbox's user namespace (userns_options POD) first: the container's own namespaces are made inside it
  const userMode = securityContext(ctx).namespace_options?.userns_options?.mode;
  if (userMode !== undefined && userMode !== (ns.user ? 'POD' : 'NODE')) throw invalidArgument(`${SC}.namespace_options.userns_options.mode`, `${userMode}: the sandbox's user namespace is ${ns.user ? 'POD' : 'NODE'}`);
  if (ns.user) list.unshift({ type: 'user', path: ns.user });
  if (!sb.hostNetwork) list.push({ type: 'network', path: ns.network }, { type: 'uts', path: ns.uts });
  if (!sb.hostIPC) list.push({ type: 'ipc', path: ns.ipc });
  const at = `${SC}.namespace_options.pid`;
  switch (pidMode) {
    case 'NODE': break;
    case 'CONTAINER': list.push({ type: 'pid' }); break;
    case 'POD':
      // a sandbox without a PID namespace of its own (its mode CONTAINER) gives each container one, as containerd's pause does not share
      list.push(ns.pid ? { type: 'pid', path: ns.pid } : { type: 'pid' });
      break;
    case 'TARGET':
      if (!ctx.targetPidNamespace) throw invalidArgument(`${SC}.namespace_options.target_id`, 'TARGET needs a running container of this sandbox');
      list.push({ type: 'pid', path: ctx.targetPidNamespace });
      break;
    default: throw invalidArgument(at, `unknown mode ${String(pidMode)}`);
  }
  for (const n of list) if ('path' in n && n.path === undefined) delete n.path;
  c.linux!.namespaces = list;
  delete c.hostname; // the sandbox's UTS namespace carries its name (or the host's)
};

export const withCriRootfs: CriSpecOpt = (c, ctx) => {
  c.root = { path: ctx.rootfs, readonly: securityContext(ctx).readonly_rootfs === true };
};

const PROPAGATION = { PROPAGATION_PRIVATE: 'rprivate', PROPAGATION_HOST_TO_CONTAINER: 'rslave', PROPAGATION_BIDIRECTIONAL: 'rshared' } as const;

/** The sandbox's /etc files and /dev/shm unless the request mounts its own there, then the request's mounts. */
export const withCriMounts: CriSpecOpt = (c, ctx) => {
  const asked = ctx.config.mounts;
  const taken = new Set(asked.map((m) => m.container_path.replace(/\/+$/, '')));
  const bind = (destination: string, source: string, options: string[]): OciMount => ({ destination, type: 'bind', source, options: ['rbind', ...options] });
  const mounts: OciMount[] = (c.mounts ?? []).filter((m) => !taken.has(m.destination) && !(m.destination === '/dev/shm'));
  const sb = ctx.sandbox;
  const etc: Array<[string, string]> = [['/etc/hosts', sb.etcFiles.hosts], ['/etc/hostname', sb.etcFiles.hostname], ['/etc/resolv.conf', sb.etcFiles.resolvConf]];
  for (const [dest, src] of etc) if (!taken.has(dest)) mounts.push(bind(dest, src, ['rprivate', 'rw', 'nosuid', 'nodev']));
  if (!taken.has('/dev/shm')) mounts.push(bind('/dev/shm', sb.shm, ['rprivate', 'rw', 'nosuid', 'nodev', 'noexec']));
  asked.forEach((m, i) => {
    const at = `config.mounts[${i}]`;
    if (!m.container_path.startsWith('/')) throw invalidArgument(`${at}.container_path`, `${JSON.stringify(m.container_path)} is not absolute`);
    if (m.image?.image) throw invalidArgument(`${at}.image`, 'image volumes are not supported yet');
    if (!m.host_path.startsWith('/')) throw invalidArgument(`${at}.host_path`, `${JSON.stringify(m.host_path)} is not absolute`);
    // kubelet asks for an idmapped volume with the pod's own mapping: podrun makes it with the pod's user namespace
    let idmap: Pick<OciMount, 'uidMappings' | 'gidMappings'> = {};
    if (m.uidMappings.length || m.gidMappings.length) {
      const u = sb.userns;
      const only = (list: IDMapping[], base: number, f: 'uidMappings' | 'gidMappings'): void => {
        if (!u) throw invalidArgument(`${at}.${f}`, 'idmapped mounts need the sandbox\'s user namespace (userns_options mode POD)');
        if (list.length !== 1 || list[0].container_id !== 0 || list[0].host_id !== base || list[0].length !== u.size) {
          throw invalidArgument(`${at}.${f}`, `must be the sandbox's mapping (0 ${base} ${u.size}): podrun makes idmapped mounts with its user namespace`);
        }
      };
      only(m.uidMappings, u?.uidBase ?? 0, 'uidMappings');
      only(m.gidMappings, u?.gidBase ?? 0, 'gidMappings');
      idmap = { uidMappings: [{ containerID: 0, hostID: u!.uidBase, size: u!.size }], gidMappings: [{ containerID: 0, hostID: u!.gidBase, size: u!.size }] };
    }
    if (m.selinux_relabel && ctx.selinuxEnabled) throw invalidArgument(`${at}.selinux_relabel`, 'SELinux relabelling is not supported');
    const propagation = PROPAGATION[m.propagation];
    if (!propagation) throw invalidArgument(`${at}.propagation`, `unknown propagation ${String(m.propagation)}`);
    // read-only all the way down (kubelet's recursiveReadOnly: Enabled, or IfPossible where advertised), as containerd
    // checks it: only on a read-only, private mount
    if (m.recursive_read_only) {
      if (!m.readonly) throw invalidArgument(`${at}.recursive_read_only`, 'needs readonly');
      if (m.propagation !== 'PROPAGATION_PRIVATE') throw invalidArgument(`${at}.recursive_read_only`, `needs propagation PROPAGATION_PRIVATE, not ${m.propagation}`);
      if (!ctx.recursiveReadOnlyMounts) throw invalidArgument(`${at}.recursive_read_only`, 'this kernel cannot make recursive read-only mounts (mount_setattr: Linux ≥ 5.12)');
    }
    mounts.push({ ...bind(m.container_path, m.host_path, [propagation, m.readonly ? 'ro' : 'rw', ...(m.recursive_read_only ? ['rro'] : [])]), ...idmap });
  });
  c.mounts = mounts;
  // a bidirectional or host-to-container mount needs a mount namespace that takes propagation: rslave root as runc
  if (asked.some((m) => m.propagation !== 'PROPAGATION_PRIVATE')) c.linux!.rootfsPropagation = asked.some((m) => m.propagation === 'PROPAGATION_BIDIRECTIONAL') ? 'rshared' : 'rslave';
};

/** devices[]: host device nodes at their container paths, allowed in the device cgroup. */
export const withCriDevices: CriSpecOpt = (c, ctx) => {
  ctx.config.devices.forEach((d, i) => {
    const at = `config.devices[${i}]`;
    if (!d.container_path.startsWith('/')) throw invalidArgument(`${at}.container_path`, `${JSON.stringify(d.container_path)} is not absolute`);
    const perms = d.permissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(perms)) throw invalidArgument(`${at}.permissions`, `${JSON.stringify(perms)} is not a combination of r, w and m`);
    const st = ctx.statDevice(d.host_path);
    if (!st) throw invalidArgument(`${at}.host_path`, `${d.host_path} is not a device node`);
    c.linux!.devices = [...(c.linux!.devices ?? []), { path: d.container_path, type: st.type, major: st.major, minor: st.minor, fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid }];
    const res = c.linux!.resources!;
    res.devices = [...((res.devices as unknown[] | undefined) ?? []), { allow: true, type: st.type, major: st.major, minor: st.minor, access: perms }];
  });
  if (ctx.config.CDI_devices.length) throw invalidArgument('config.CDI_devices', 'CDI devices are not supported');
};

/** CRI's LinuxContainerResources as OCI linux.resources (what is 0 or empty is not set). */
export function ociResources(r: LinuxContainerResources): Record<string, unknown> {
  const n = (v: string | number): number => Number(v);
  const out: Record<string, unknown> = {};
  const cpu: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string } = {};
  if (n(r.cpu_shares)) cpu.shares = n(r.cpu_shares);
  if (n(r.cpu_quota)) cpu.quota = n(r.cpu_quota);
  if (n(r.cpu_period)) cpu.period = n(r.cpu_period);
  if (r.cpuset_cpus) cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems) cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  const memory: { limit?: number; swap?: number } = {};
  if (n(r.memory_limit_in_bytes)) memory.limit = n(r.memory_limit_in_bytes);
  if (n(r.memory_swap_limit_in_bytes)) memory.swap = n(r.memory_swap_limit_in_bytes);
  if (Object.keys(memory).length) out.memory = memory;
  if (r.hugepage_limits?.length) out.hugepageLimits = r.hugepage_limits.map((h) => ({ pageSize: h.page_size, limit: n(h.limit) }));
  if (Object.keys(r.unified ?? {}).length) out.unified = { ...r.unified };
  return out;
}

export const withCriResources: CriSpecOpt = (c, ctx) => {
  const r = ctx.config.linux?.resources;
  if (r) c.linux!.resources = { ...c.linux!.resources, ...ociResources(r) };
};

export const withCriSysctls: CriSpecOpt = (c, ctx) => {
  if (Object.keys(ctx.sandbox.sysctls).length) c.linux!.sysctl = { ...ctx.sandbox.sysctls };
};

/** Masked and read-only paths as asked (kubelet sends its defaults; none asked: the runtime's defaults);
 * privileged: none, every device, /sys writable. */
export const withCriPrivileged: CriSpecOpt = (c, ctx) => {
  const sc = securityContext(ctx);
  if (!sc.privileged) {
    if (sc.masked_paths?.length) c.linux!.maskedPaths = [...sc.masked_paths];
    if (sc.readonly_paths?.length) c.linux!.readonlyPaths = [...sc.readonly_paths];
    return;
  }
  if (!ctx.sandbox.privileged) throw invalidArgument(`${SC}.privileged`, 'a privileged container needs a privileged sandbox (its config.linux.security_context.privileged)');
  grantPrivileged(c, ctx.hostDevices);
};

/** seccomp (or the deprecated seccomp_profile_path): RuntimeDefault, Unconfined or Localhost; privileged: none. */
export const withCriSeccomp: CriSpecOpt = (c, ctx) => {
  const sc = securityContext(ctx);
  if (sc.privileged) return;
  let profile: SecurityProfile | undefined = sc.seccomp ?? undefined;
  let field = `${SC}.seccomp`;
  if (!profile && sc.seccomp_profile_path) {
    field = `${SC}.seccomp_profile_path`;
    const p = sc.seccomp_profile_path;
    if (p === 'runtime/default' || p === 'docker/default') profile = { profile_type: 'RuntimeDefault', localhost_ref: '' };
    else if (p === 'unconfined') profile = { profile_type: 'Unconfined', localhost_ref: '' };
    else if (p.startsWith('localhost/')) profile = { profile_type: 'Localhost', localhost_ref: p.slice('localhost/'.length) };
    else throw invalidArgument(field, `unknown profile ${JSON.stringify(p)}`);
  }
  const type = profile?.profile_type ?? (ctx.defaultSeccomp === 'runtime-default' ? 'RuntimeDefault' : 'Unconfined');
  if (type === 'Unconfined') return;
  if (type === 'RuntimeDefault') {
    c.linux!.seccomp = defaultSeccompProfile(c.process?.capabilities?.bounding ?? []);
    return;
  }
  const file = profile!.localhost_ref;
  if (!file.startsWith('/')) throw invalidArgument(`${field}.localhost_ref`, `${JSON.stringify(file)} is not an absolute path`);
  let doc: unknown;
  try {
    doc = JSON.parse(ctx.readProfile(file));
  } catch (e) {
    throw invalidArgument(`${field}.localhost_ref`, `${file}: ${(e as Error).message}`);
  }
  c.linux!.seccomp = doc as OciSeccomp; // validated with the rest of config.json at create
};

export const withCriAppArmor: CriSpecOpt = (_c, ctx) => {
  const sc = securityContext(ctx);
  if (sc.apparmor?.profile_type === 'Localhost' || (sc.apparmor_profile && sc.apparmor_profile.startsWith('localhost/'))) {
    throw invalidArgument(`${SC}.apparmor`, 'AppArmor profiles are not supported by podrun');
  }
};

export const CRI_CONTAINER_OPTS: readonly CriSpecOpt[] = [
  withCriProcess, withCriUser, withCriCapabilities, withCriNamespaces, withCriRootfs, withCriMounts, withCriDevices,
  withCriResources, withCriSysctls, withCriPrivileged, withCriSeccomp, withCriAppArmor,
];

/** The container's config.json. */
export function criContainerConfig(ctx: CriContainerContext, opts: readonly CriSpecOpt[] = CRI_CONTAINER_OPTS): OciConfig {
  const c = defaultSpec({ rootfs: ctx.rootfs });
  // containerd's annotations, which runtimes and hooks read
  c.annotations = {
    ...ctx.config.annotations,
    'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.container-name': ctx.config.metadata?.name ?? '',
    'io.kubernetes.cri.sandbox-id': ctx.sandbox.id,
    'io.kubernetes.cri.sandbox-name': ctx.sandbox.name,
    'io.kubernetes.cri.sandbox-namespace': ctx.sandbox.namespace,
    'io.kubernetes.cri.sandbox-uid': ctx.sandbox.uid,
    'io.kubernetes.cri.image-name': ctx.imageName,
  };
  for (const o of opts) o(c, ctx);
  return c;
}
