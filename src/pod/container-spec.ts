/** One Pod container → its OCI config.json, composed from small options in
 * containerd's SpecOpts style: each `with…` function changes one aspect and
 * is tested alone. Pure: everything on the host (rootfs, namespace files,
 * volume directories, the image's passwd) arrives in the context. */
import type { OciDevice } from '../oci/host-devices';
import { containerResources, parseQuantity, type MemoryQoS } from '../cgroup/kube-resources';
import { expandEnv, expandReferences } from './env-expansion';
import { noObjects, objectData, objectKeyValue, type PodObjects } from './pod-objects';
import { LABEL_FIELD_REF } from './manifest';
import { podHostname } from './pod-names';
import { PodrunError } from '../errors';
import { mergeEnv, processArgs, resolveUser, type ContainerDefaults } from '../image/image-config';
import { defaultSeccompProfile } from '../oci/default-seccomp';
import { defaultSpec } from '../oci/default-spec';
import { SUBPATH_OPTION } from '../oci/mount-options';
import type { OciConfig, OciMount, OciSeccomp } from '../oci/spec-schema';
import type { PodContainer, PodManifest } from './manifest-schema';
import { isLocalDescendingPath } from '../util/in-root';

/** Namespace files pinned by the sandbox; absent ones are the host's (hostNetwork …). */
export interface SandboxNamespaces {
  /** the pod's own user namespace (hostUsers: false): joined first, it owns the others */
  user?: string;
  network?: string;
  ipc?: string;
  uts?: string;
  /** only with shareProcessNamespace */
  pid?: string;
}

export interface ContainerContext {
  pod: PodManifest;
  container: PodContainer;
  /** `spec.containers[i]` or `spec.initContainers[i]`, for error messages */
  field: string;
  rootfs: string;
  image: ContainerDefaults;
  /** the image's /etc/passwd and /etc/group, for named users */
  passwd?: string;
  group?: string;
  namespaces: SandboxNamespaces;
  /** generated per pod, bind-mounted read-only… except /etc/hosts and resolv.conf which kubelet mounts rw */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  /** volume name → host directory */
  volumes: Record<string, string>;
  /** the pod's /dev/shm tmpfs (absent: each container keeps its own) */
  shm?: string;
  podIP?: string;
  /** ConfigMaps and Secrets given with the pod (env from configMapKeyRef/secretKeyRef) */
  objects?: PodObjects;
  /** volumes mounted read-only whatever the volumeMount says (configMap, secret) */
  readOnlyVolumes?: string[];
  /** the kernel makes recursive read-only mounts (mount_setattr, 5.12): what volumeMounts' recursiveReadOnly needs */
  recursiveReadOnlyMounts?: boolean;
  /** hostUsers: false: the pod's range, and the volumes (hostPath) bound idmapped with it rather than shifted */
  userns?: { uidBase: number; gidBase: number; size: number };
  idmappedVolumes?: string[];
  /** kubelet's MemoryQoS (memory.min/memory.high from requests and limits), when enabled */
  memoryQoS?: MemoryQoS;
  /** the text of a Localhost seccomp profile, by its name below the profile directory */
  readSeccompProfile?: (name: string) => string;
  /** the capabilities podrun holds: all a privileged container can get (default: every one) */
  hostCapabilities?: readonly string[];
  /** what a limit that is not set stands for (resourceFieldRef) */
  nodeAllocatable?: NodeAllocatable;
  /** the host's devices, given to a privileged container */
  hostDevices?: readonly OciDevice[];
  podUid?: string;
}

export type SpecOpt = (c: OciConfig, ctx: ContainerContext) => void;

/** the node's cpus, memory bytes and ephemeral storage bytes */
export type NodeAllocatable = { cpu: number; memory: number; 'ephemeral-storage': number };

/** The capabilities containerd gives a container by default. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

function invalid(field: string, reason: string): PodrunError {
  return new PodrunError('EINVALID_CONFIG', `${field}: ${reason}`, { field });
}

const capName = (c: string): string => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);

/** The container's own variables (envFrom, then env), each literal value expanded against those before it: what
 * command, args and subPathExpr are expanded against, as kubelet does (the image's variables are not among them). */
function containerEnv(ctx: ContainerContext): Array<{ name: string; value: string }> {
  const k = ctx.container;
  // envFrom first, in order, then env over it (kubelet's order); envFrom values are never expanded
  const fromObjects = (k.envFrom ?? []).flatMap((src, i) => envFromEntries(src, `${ctx.field}.envFrom[${i}]`, ctx));
  const entries = [...fromObjects, ...(k.env ?? []).flatMap((e, i) => {
    const from = e.valueFrom;
    const field = `${ctx.field}.env[${i}].valueFrom`;
    const ref = from?.configMapKeyRef ? { kind: 'ConfigMap' as const, ...from.configMapKeyRef, at: `${field}.configMapKeyRef` }
      : from?.secretKeyRef ? { kind: 'Secret' as const, ...from.secretKeyRef, at: `${field}.secretKeyRef` } : undefined;
    if (e.value) return [{ name: e.name, value: e.value, literal: true }];
    if (from?.resourceFieldRef) return [{ name: e.name, value: resourceFieldValue(from.resourceFieldRef, `${field}.resourceFieldRef`, ctx.pod, ctx.container, ctx.nodeAllocatable), literal: false }];
    if (!ref) return [{ name: e.name, value: from?.fieldRef ? fieldRefValue(from.fieldRef.fieldPath, ctx) : '', literal: false }];
    const v = objectKeyValue(ctx.objects ?? noObjects(), ref, ref.at);
    return v === undefined ? [] : [{ name: e.name, value: v, literal: false }]; // an optional key that is missing: no variable, as kubelet does
  })];
  return expandEnv(entries);
}

export const withProcess: SpecOpt = (c, ctx) => {
  const k = ctx.container;
  const p = c.process!;
  // $(VAR) in values (against the variables before each), then in command and args (against them all), as kubelet
  const env = containerEnv(ctx);
  const defined = new Map(env.map((e) => [e.name, e.value]));
  const expand = (list: string[] | undefined): string[] | undefined => list?.map((s) => expandReferences(s, (n) => defined.get(n)));
  p.args = processArgs(ctx.image, expand(k.command), expand(k.args));
  p.env = mergeEnv(mergeEnv(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ctx.image.env), [`HOSTNAME=${podHostname(ctx.pod)}`, ...env.map((e) => `${e.name}=${e.value}`)]);
  p.cwd = k.workingDir || ctx.image.workingDir || '/';
  p.terminal = k.tty === true;
};

/** A C identifier-ish name kubelet accepts from an envFrom source (others are skipped, as kubelet does with an event). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function envFromEntries(src: NonNullable<PodContainer['envFrom']>[number], field: string, ctx: ContainerContext): Array<{ name: string; value: string; literal: boolean }> {
  const ref = src.configMapRef ? { kind: 'ConfigMap' as const, ...src.configMapRef, at: `${field}.configMapRef` } : { kind: 'Secret' as const, ...src.secretRef!, at: `${field}.secretRef` };
  const data = objectData(ctx.objects ?? noObjects(), ref, ref.at);
  if (!data) return [];
  return Object.entries(data)
    .map(([key, value]) => ({ name: `${src.prefix ?? ''}${key}`, value, literal: false }))
    .filter((e) => ENV_NAME.test(e.name));
}

/** requests/limits of cpu, memory or ephemeral-storage, divided by the divisor and rounded up; a limit not set is the node's allocatable */
export function resourceFieldValue(
  ref: { resource: string; containerName?: string; divisor?: string | number }, field: string,
  pod: PodManifest, own: PodContainer | undefined, allocatable: NodeAllocatable | undefined,
): string {
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const c = (ref.containerName ? all.find((x) => x.name === ref.containerName) : undefined) ?? own ?? all[0];
  const [kind, res] = ref.resource.split('.', 2) as ['limits' | 'requests', 'cpu' | 'memory' | 'ephemeral-storage'];
  const node = allocatable ?? { cpu: 1, memory: 0, 'ephemeral-storage': 0 };
  // the API server defaults a request to its limit
  const set = c.resources?.[kind]?.[res] ?? (kind === 'requests' ? c.resources?.limits?.[res] : undefined);
  const amount = set !== undefined ? parseQuantity(set, `${field}.resource`) : kind === 'limits' ? node[res] : 0;
  const divisor = parseQuantity(ref.divisor ?? '1', `${field}.divisor`);
  // kubelet rounds up, cpu in millicores first
  const value = res === 'cpu' ? Math.ceil(Math.round(amount * 1000) / Math.round(divisor * 1000)) : Math.ceil(amount / divisor);
  return String(value);
}

function fieldRefValue(path: string, ctx: ContainerContext): string {
  return podFieldValue(ctx.pod, path, { uid: ctx.podUid ?? '', podIP: ctx.podIP });
}

/** kubelet's FormatMap: sorted keys, Go-quoted values, a line each */
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join('\n');
}

/** A fieldRef's value (env and downwardAPI files alike); the manifest checks decide which paths each may use. */
export function podFieldValue(pod: PodManifest, path: string, facts: { uid: string; podIP?: string }): string {
  const label = LABEL_FIELD_REF.exec(path);
  if (label) return (label[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[label[2]] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return facts.uid;
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    case 'status.podIP': case 'status.podIPs': return facts.podIP ?? '';
    case 'status.hostIP': case 'status.hostIPs': return '127.0.0.1';
    case 'spec.nodeName': return 'localhost';
    case 'spec.serviceAccountName': return (pod.spec as { serviceAccountName?: string }).serviceAccountName ?? 'default';
    default: return '';
  }
}

export { podDomain, podHostname, podShortHostname } from './pod-names';

/** runAsUser/runAsGroup (container over pod) over the image's User; runAsNonRoot enforced. */
export const withUser: SpecOpt = (c, ctx) => {
  const k = ctx.container.securityContext ?? {};
  const ps = ctx.pod.spec.securityContext ?? {};
  const at = `${ctx.field}.securityContext`;
  const runAsUser = k.runAsUser ?? ps.runAsUser;
  const runAsGroup = k.runAsGroup ?? ps.runAsGroup;
  // runAsUser without runAsGroup: that uid's primary group in the image (containerd's rule)
  const image = resolveUser(runAsUser !== undefined ? String(runAsUser) : ctx.image.user, ctx.passwd, ctx.group, `${ctx.field}.image (config.User)`);
  const uid = image.uid;
  const gid = runAsGroup ?? image.gid;
  if ((k.runAsNonRoot ?? ps.runAsNonRoot) && uid === 0) throw invalid(`${at}.runAsNonRoot`, 'the container would run as root (uid 0)');
  // Strict: only the groups the Pod names (its runAsGroup, supplementalGroups, fsGroup), none from the image's /etc/group
  const fromImage = ps.supplementalGroupsPolicy === 'Strict' ? [] : image.additionalGids;
  const extra = new Set<number>([...fromImage, ...(ps.supplementalGroups ?? [])]);
  if (ps.fsGroup !== undefined) extra.add(ps.fsGroup);
  extra.delete(gid);
  c.process!.user = { uid, gid, additionalGids: [...extra] };
  if (image.home && uid === image.uid) c.process!.env = mergeEnv(c.process!.env ?? [], [`HOME=${image.home}`]);
};

export const withCapabilities: SpecOpt = (c, ctx) => {
  const sc = ctx.container.securityContext ?? {};
  const p = c.process!;
  if (sc.privileged) {
    // every capability podrun itself holds (pod start says once which the host withholds)
    const all = ctx.hostCapabilities ? ALL_CAPS.filter((x) => ctx.hostCapabilities!.includes(x)) : ALL_CAPS;
    p.capabilities = { bounding: all, effective: all, permitted: all };
    return;
  }
  const drop = new Set((sc.capabilities?.drop ?? []).map(capName));
  let caps = drop.has('CAP_ALL') ? [] : DEFAULT_CAPS.filter((x) => !drop.has(x));
  for (const add of (sc.capabilities?.add ?? []).map(capName)) {
    if (add === 'CAP_ALL') caps = [...ALL_CAPS];
    else if (!ALL_CAPS.includes(add)) throw invalid(`${ctx.field}.securityContext.capabilities.add`, `unknown capability ${add}`);
    else if (!caps.includes(add)) caps.push(add);
  }
  // non-root: the kernel clears effective caps across exec unless ambient (kubelet gives none)
  p.capabilities = { bounding: caps, effective: caps, permitted: caps };
  p.noNewPrivileges = sc.allowPrivilegeEscalation === false;
};

export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The sandbox's net/ipc/uts (and pid when shared) by path; mount and cgroup of its own. */
export const withNamespaces: SpecOpt = (c, ctx) => {
  const ns = ctx.namespaces;
  const spec = ctx.pod.spec;
  const list: Array<{ type: 'user' | 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup'; path?: string }> = [{ type: 'mount' }, { type: 'cgroup' }];
  // the container's own mount, cgroup and PID namespaces are made inside it, so they are the pod's user namespace's too
  if (ns.user) list.unshift({ type: 'user', path: ns.user });
  if (!spec.hostNetwork) list.push(ns.network ? { type: 'network', path: ns.network } : { type: 'network' });
  if (!spec.hostIPC) list.push(ns.ipc ? { type: 'ipc', path: ns.ipc } : { type: 'ipc' });
  if (!spec.hostNetwork) list.push(ns.uts ? { type: 'uts', path: ns.uts } : { type: 'uts' }); // hostNetwork pods keep the host's name
  if (!spec.hostPID) list.push(spec.shareProcessNamespace && ns.pid ? { type: 'pid', path: ns.pid } : { type: 'pid' });
  c.linux!.namespaces = list;
  // a joined UTS namespace already carries the pod's hostname (set by the sandbox)
  const ownUts = list.some((n) => n.type === 'uts' && !n.path);
  if (ownUts) c.hostname = podHostname(ctx.pod);
  else delete c.hostname;
  if (spec.hostNetwork) c.mounts = (c.mounts ?? []).map((m) => (m.destination === '/sys' ? { ...m, options: [...(m.options ?? []).filter((o) => o !== 'ro'), 'ro'] } : m));
};

export const withRootfs: SpecOpt = (c, ctx) => {
  c.root = { path: ctx.rootfs, readonly: ctx.container.securityContext?.readOnlyRootFilesystem === true };
};

/** /etc files of the pod, then volumeMounts (readOnly, subPath). */
export const withMounts: SpecOpt = (c, ctx) => {
  const mounts: OciMount[] = [...(c.mounts ?? [])];
  const bind = (destination: string, source: string, ro: boolean, propagation = 'rprivate'): OciMount => ({ destination, type: 'bind', source, options: ['rbind', propagation, ro ? 'ro' : 'rw', 'nosuid', 'nodev'] });
  mounts.push(bind('/etc/hosts', ctx.etcFiles.hosts, false), bind('/etc/hostname', ctx.etcFiles.hostname, false), bind('/etc/resolv.conf', ctx.etcFiles.resolvConf, false));
  if (ctx.shm) {
    const i = mounts.findIndex((m) => m.destination === '/dev/shm');
    const shm = { ...bind('/dev/shm', ctx.shm, false), options: ['rbind', 'rprivate', 'rw', 'nosuid', 'nodev', 'noexec'] };
    if (i >= 0) mounts[i] = shm;
    else mounts.push(shm);
  }
  const env = (ctx.container.volumeMounts ?? []).some((m) => m.subPathExpr) ? new Map(containerEnv(ctx).map((e) => [e.name, e.value])) : undefined;
  (ctx.container.volumeMounts ?? []).forEach((m, i) => {
    const dir = ctx.volumes[m.name];
    if (!dir) throw invalid(`${ctx.field}.volumeMounts[${i}].name`, `volume ${JSON.stringify(m.name)} has no host directory`);
    const mount = bind(m.mountPath, dir, m.readOnly === true || (ctx.readOnlyVolumes ?? []).includes(m.name), MOUNT_PROPAGATION[m.mountPropagation ?? 'None']);
    // the host's files as the pod's user namespace sees them through an idmapped bind: host root's are its root's
    if (ctx.userns && (ctx.idmappedVolumes ?? []).includes(m.name)) {
      mount.uidMappings = [{ containerID: 0, hostID: ctx.userns.uidBase, size: ctx.userns.size }];
      mount.gidMappings = [{ containerID: 0, hostID: ctx.userns.gidBase, size: ctx.userns.size }];
    }
    // subPathExpr: $(VAR) of the container's variables, then held to subPath's rule (kubelet checks it once expanded)
    const subPath = m.subPathExpr !== undefined ? expandReferences(m.subPathExpr, (n) => env!.get(n)) : m.subPath;
    if (m.subPathExpr !== undefined && subPath && !isLocalDescendingPath(subPath)) {
      throw invalid(`${ctx.field}.volumeMounts[${i}].subPathExpr`, `expands to ${JSON.stringify(subPath)}: must be a relative path without ".."`);
    }
    // the volume's contents are the pod's: the launch resolves subPath inside it, never following a symlink out
    if (subPath) mount.options!.push(`${SUBPATH_OPTION}${subPath}`);
    // read-only all the way down: a mount below the volume (a hostPath's) is otherwise writable. IfPossible falls
    // back to the top mount read-only where the kernel cannot, as kubelet does; Enabled then fails
    if (m.recursiveReadOnly === 'Enabled' && !ctx.recursiveReadOnlyMounts) {
      throw invalid(`${ctx.field}.volumeMounts[${i}].recursiveReadOnly`, 'Enabled needs recursive read-only mounts, which this kernel cannot make (mount_setattr: Linux ≥ 5.12); IfPossible would mount it read-only on top only');
    }
    if (m.readOnly && (m.recursiveReadOnly === 'Enabled' || (m.recursiveReadOnly === 'IfPossible' && ctx.recursiveReadOnlyMounts))) mount.options!.push('rro');
    mounts.push(mount);
  });
  c.mounts = mounts;
  // a mount that receives the host's (or sends its own) needs a root that passes them on: rslave, or rshared, as runc
  const asked = (ctx.container.volumeMounts ?? []).map((m) => m.mountPropagation ?? 'None');
  if (asked.some((p) => p !== 'None')) c.linux!.rootfsPropagation = asked.includes('Bidirectional') ? 'rshared' : 'rslave';
};

/** volumeMounts' mountPropagation as the bind's propagation option (kubelet's mapping through CRI). */
const MOUNT_PROPAGATION: Record<'None' | 'HostToContainer' | 'Bidirectional', string> = { None: 'rprivate', HostToContainer: 'rslave', Bidirectional: 'rshared' };

export const withSysctls: SpecOpt = (c, ctx) => {
  const s = ctx.pod.spec.securityContext?.sysctls;
  if (s?.length) c.linux!.sysctl = Object.fromEntries(s.map((x) => [x.name, x.value]));
};

export const withResources: SpecOpt = (c, ctx) => {
  if (!ctx.container.resources) return; // BestEffort: the cgroup's defaults
  const r = containerResources(ctx.container.resources, `${ctx.field}.resources`, ctx.memoryQoS);
  c.linux!.resources = { ...(c.linux!.resources ?? {}), ...r };
};

/** What privileged means beyond capabilities: nothing masked or read-only, every device, /sys writable
 * (a Pod's securityContext.privileged and a CRI request's alike). */
export function grantPrivileged(c: OciConfig, devices: readonly OciDevice[] = []): void {
  const have = new Set((c.linux!.devices ?? []).map((d) => d.path));
  c.linux!.devices = [...(c.linux!.devices ?? []), ...devices.filter((d) => !have.has(d.path))];
  delete c.linux!.maskedPaths;
  delete c.linux!.readonlyPaths;
  c.linux!.resources = { ...(c.linux!.resources ?? {}), devices: [{ allow: true, access: 'rwm' }] };
  c.mounts = (c.mounts ?? []).map((m) => (m.destination === '/sys' || m.destination === '/sys/fs/cgroup' ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') } : m));
}

export const withPrivileged: SpecOpt = (c, ctx) => {
  if (ctx.container.securityContext?.privileged) grantPrivileged(c, ctx.hostDevices);
  // procMount Unmasked (a user-namespaced pod's, checked with the manifest): /proc as the pod's namespaces show it
  if (ctx.container.securityContext?.procMount === 'Unmasked') {
    delete c.linux!.maskedPaths;
    delete c.linux!.readonlyPaths;
  }
};

/** securityContext.seccompProfile (container over pod): Unconfined (Kubernetes'
 * default), RuntimeDefault (podrun's default profile for the container's
 * capabilities), or Localhost (an OCI seccomp JSON file read through ctx).
 * Privileged containers are never filtered, as kubelet does. Runs after
 * withCapabilities/withPrivileged. */
export const withSeccomp: SpecOpt = (c, ctx) => {
  const own = ctx.container.securityContext?.seccompProfile;
  const prof = own ?? ctx.pod.spec.securityContext?.seccompProfile;
  const field = own ? `${ctx.field}.securityContext.seccompProfile` : 'spec.securityContext.seccompProfile';
  if (!prof || prof.type === 'Unconfined' || ctx.container.securityContext?.privileged) return;
  if (prof.type === 'RuntimeDefault') {
    c.linux!.seccomp = defaultSeccompProfile(c.process?.capabilities?.bounding ?? []);
    return;
  }
  const name = prof.localhostProfile ?? '';
  if (!isLocalDescendingPath(name)) throw invalid(`${field}.localhostProfile`, 'must be a relative path without ".."');
  if (!ctx.readSeccompProfile) throw invalid(`${field}.type`, 'Localhost profiles need a profile directory');
  let doc: unknown;
  try {
    doc = JSON.parse(ctx.readSeccompProfile(name));
  } catch (e) {
    throw invalid(`${field}.localhostProfile`, `${name}: ${(e as Error).message}`);
  }
  c.linux!.seccomp = doc as OciSeccomp; // validated with the rest of config.json at create
};

export const CONTAINER_OPTS: readonly SpecOpt[] = [withProcess, withUser, withCapabilities, withNamespaces, withRootfs, withMounts, withSysctls, withResources, withPrivileged, withSeccomp];

/** The container's complete config.json. */
export function containerConfig(ctx: ContainerContext, opts: readonly SpecOpt[] = CONTAINER_OPTS): OciConfig {
  const c = defaultSpec({ rootfs: ctx.rootfs });
  c.annotations = {
    'io.kubernetes.pod.name': ctx.pod.metadata.name,
    'io.kubernetes.pod.namespace': ctx.pod.metadata.namespace ?? 'default',
    'io.kubernetes.container.name': ctx.container.name,
  };
  for (const o of opts) o(c, ctx);
  return c;
}
