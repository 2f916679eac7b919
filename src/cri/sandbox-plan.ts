/** A CRI PodSandboxConfig → what podrun's pod layer makes of it: a Pod
 * manifest without containers (namespaces, hostname, DNS, sysctls), the
 * port mappings, the pod cgroup. Pure; errors name the request's fields as
 * CRI spells them (`config.metadata.name`). */
import { isIP } from 'node:net';
import os from 'node:os';
import { PodrunError } from '../errors';
import type { PortMapping as CniPortMapping } from '../network';
import type { PodManifest } from '../pod';
import { isLocalDescendingPath } from '../util/in-root';
import type { IdRange } from '../pod/user-namespace';
import type { IDMapping, PodSandboxConfig, NamespaceMode, UserNamespaceOption } from './types';

/** a DNS name (RFC 1123 labels, dots between; a trailing dot for a rooted search domain) */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function invalidArgument(field: string, reason: string): PodrunError {
  return new PodrunError('EINVALID_CONFIG', `${field}: ${reason}`, { field });
}

export interface SandboxPlan {
  pod: PodManifest;
  portMappings: Array<CniPortMapping & { field: string }>;
  /** config.linux.cgroup_parent below the cgroup2 mount, if the client names one: the pod cgroup goes below it
   * (kubelet gives each pod its own; critest and crictl users share one between sandboxes) */
  cgroupParent?: string;
  privileged: boolean;
  namespaces: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
  /** userns_options mode POD: the one range of host ids its user namespace maps (kubelet allocates it) */
  userns?: IdRange;
}

/** userns_options as kubelet sends them: NODE (the host's), or POD with one uid and one gid mapping of the same
 * length from container id 0 (podrun maps ranges, as containerd's and CRI-O's runtimes do). */
function planUserns(u: UserNamespaceOption | null | undefined, at: string): IdRange | undefined {
  if (!u || u.mode === 'NODE') return undefined;
  if (u.mode !== 'POD') throw invalidArgument(`${at}.mode`, `${u.mode}: a sandbox's user namespace is POD or NODE`);
  const one = (list: IDMapping[], f: 'uids' | 'gids'): IDMapping => {
    if (list.length !== 1) throw invalidArgument(`${at}.${f}`, `exactly one mapping is supported, got ${list.length}`);
    const m = list[0];
    if (m.container_id !== 0) throw invalidArgument(`${at}.${f}[0].container_id`, `${m.container_id}: the mapping must start at 0 (the container's root must be mapped)`);
    if (!(m.length > 0) || m.host_id + m.length > 0xffffffff) throw invalidArgument(`${at}.${f}[0].length`, `${m.length} ids from ${m.host_id} is not a range of host ids`);
    return m;
  };
  const uid = one(u.uids, 'uids');
  const gid = one(u.gids, 'gids');
  if (uid.length !== gid.length) throw invalidArgument(`${at}.gids[0].length`, `${gid.length}: uids and gids must map as many ids (${uid.length})`);
  return { uidBase: uid.host_id, gidBase: gid.host_id, size: uid.length };
}

/** containerd's sandbox name, which no two sandboxes share: name_namespace_uid_attempt */
export const sandboxKey = (m: { name: string; namespace: string; uid: string; attempt: number }): string => `${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;

/** "ndots:5" → { name: 'ndots', value: '5' } */
function dnsOption(o: string): { name: string; value?: string } {
  const i = o.indexOf(':');
  return i < 0 ? { name: o } : { name: o.slice(0, i), value: o.slice(i + 1) };
}

export function planSandbox(config: PodSandboxConfig | null | undefined, hostName: () => string = os.hostname): SandboxPlan {
  if (!config) throw invalidArgument('config', 'required');
  const m = config.metadata;
  if (!m) throw invalidArgument('config.metadata', 'required');
  for (const k of ['name', 'namespace', 'uid'] as const) if (!m[k]) throw invalidArgument(`config.metadata.${k}`, 'required');
  const sc = config.linux?.security_context;
  const nso = sc?.namespace_options;
  const namespaces = { network: nso?.network ?? 'POD', pid: nso?.pid ?? 'POD', ipc: nso?.ipc ?? 'POD' };
  const at = 'config.linux.security_context.namespace_options';
  if (namespaces.network !== 'POD' && namespaces.network !== 'NODE') throw invalidArgument(`${at}.network`, `${namespaces.network} is not a sandbox's mode (POD or NODE)`);
  if (namespaces.ipc !== 'POD' && namespaces.ipc !== 'NODE') throw invalidArgument(`${at}.ipc`, `${namespaces.ipc} is not a sandbox's mode (POD or NODE)`);
  if (namespaces.pid === 'TARGET') throw invalidArgument(`${at}.pid`, 'TARGET is a container\'s mode, not a sandbox\'s');
  const userns = planUserns(nso?.userns_options, `${at}.userns_options`);
  if (userns) {
    for (const k of ['network', 'pid', 'ipc'] as const) if (namespaces[k] === 'NODE') throw invalidArgument(`${at}.${k}`, 'NODE: the host\'s namespaces are not owned by the pod\'s user namespace (userns_options mode POD)');
  }
  if (sc?.apparmor && sc.apparmor.profile_type === 'Localhost') throw invalidArgument('config.linux.security_context.apparmor', 'AppArmor is not supported by podrun');
  const hostNetwork = namespaces.network === 'NODE';
  const dns = config.dns_config;
  // they become lines of /etc/hosts, /etc/hostname and resolv.conf: nothing that could start another line
  if (config.hostname && !HOSTNAME.test(config.hostname)) throw invalidArgument('config.hostname', `${JSON.stringify(config.hostname)} is not a host name`);
  dns?.servers.forEach((s, i) => {
    if (!isIP(s)) throw invalidArgument(`config.dns_config.servers[${i}]`, `${JSON.stringify(s)} is not an IP address`);
  });
  dns?.searches.forEach((s, i) => {
    if (!HOSTNAME.test(s)) throw invalidArgument(`config.dns_config.searches[${i}]`, `${JSON.stringify(s)} is not a domain`);
  });
  dns?.options.forEach((s, i) => {
    if (!/^[A-Za-z0-9_-]+(:[A-Za-z0-9._-]+)?$/.test(s)) throw invalidArgument(`config.dns_config.options[${i}]`, `${JSON.stringify(s)} is not a resolver option`);
  });
  const hasDns = !!dns && (dns.servers.length > 0 || dns.searches.length > 0 || dns.options.length > 0);
  const sysctls = Object.entries(config.linux?.sysctls ?? {}).map(([name, value]) => ({ name, value }));
  const pod: PodManifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, labels: config.labels ?? {}, annotations: config.annotations ?? {} },
    spec: {
      containers: [],
      // kubelet restarts containers itself, each as a new container
      restartPolicy: 'Never',
      // a sandbox's own UTS namespace gets the name kubelet asks for, else the node's (as containerd)
      hostname: config.hostname || hostName(),
      hostNetwork,
      hostIPC: namespaces.ipc === 'NODE',
      hostPID: namespaces.pid === 'NODE',
      shareProcessNamespace: namespaces.pid === 'POD',
      ...(hasDns ? { dnsPolicy: 'None' as const, dnsConfig: { nameservers: dns!.servers, searches: dns!.searches, options: dns!.options.map(dnsOption) } } : {}),
      ...(sysctls.length ? { securityContext: { sysctls } } : {}),
    },
  };
  const portMappings: SandboxPlan['portMappings'] = [];
  config.port_mappings.forEach((p, i) => {
    if (p.host_port <= 0) return; // no host port: nothing to map (as containerd)
    const field = `config.port_mappings[${i}]`;
    if (p.container_port <= 0 || p.container_port > 65535) throw invalidArgument(`${field}.container_port`, `${p.container_port} is not a port`);
    if (p.host_port > 65535) throw invalidArgument(`${field}.host_port`, `${p.host_port} is not a port`);
    if (p.host_ip && !isIP(p.host_ip)) throw invalidArgument(`${field}.host_ip`, `${JSON.stringify(p.host_ip)} is not an IP address`);
    portMappings.push({ field: `${field}.host_port`, hostPort: p.host_port, containerPort: p.container_port, protocol: p.protocol.toLowerCase() as CniPortMapping['protocol'], ...(p.host_ip ? { hostIP: p.host_ip } : {}) });
  });
  let cgroupParent: string | undefined;
  const parent = config.linux?.cgroup_parent;
  if (parent) {
    const rel = parent.replace(/^\/+/, '').replace(/\/+$/, '');
    if (!rel || !isLocalDescendingPath(rel)) throw invalidArgument('config.linux.cgroup_parent', `${JSON.stringify(parent)} is not a cgroup below the root`);
    cgroupParent = rel;
  }
  if (userns) pod.spec.hostUsers = false;
  return { pod, portMappings, cgroupParent, privileged: sc?.privileged === true, namespaces, ...(userns ? { userns } : {}) };
}
