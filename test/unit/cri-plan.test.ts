/** The pure CRI → podrun functions: a PodSandboxConfig's plan, a ContainerConfig's
 * OCI config, hosts.toml endpoints, the server config; errors name CRI fields. */
import t from 'tap';
import { parseCriConfig } from '../../src/cri/config';
import { criContainerConfig, type CriContainerContext } from '../../src/cri/container-plan';
import { parseHostsToml } from '../../src/cri/registry-hosts';
import { planSandbox } from '../../src/cri/sandbox-plan';
import type { ContainerConfig, PodSandboxConfig } from '../../src/cri/types';
import { ALL_CAPS } from '../../src/pod';

/** the field a thrown PodrunError names */
function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { field?: string }).field;
  }
  return 'nothing thrown';
}

const sandbox = (over: Partial<PodSandboxConfig> = {}): PodSandboxConfig => ({
  metadata: { name: 'web', namespace: 'ns', uid: 'u1', attempt: 0 },
  hostname: 'web-host', log_directory: '/var/log/pods/x', dns_config: null, port_mappings: [], labels: {}, annotations: {}, linux: null,
  ...over,
});

const emptyResources = { cpu_period: '0', cpu_quota: '0', cpu_shares: '0', memory_limit_in_bytes: '0', oom_score_adj: '0', cpuset_cpus: '', cpuset_mems: '', hugepage_limits: [], unified: {}, memory_swap_limit_in_bytes: '0' };

const container = (over: Partial<ContainerConfig> = {}): ContainerConfig => ({
  metadata: { name: 'app', attempt: 0 }, image: { image: 'busybox', annotations: {}, user_specified_image: '', runtime_handler: '' },
  command: [], args: [], working_dir: '', envs: [], mounts: [], devices: [], labels: {}, annotations: {}, log_path: '', stdin: false, stdin_once: false, tty: false,
  linux: null, CDI_devices: [], ...over,
});

const ctx = (config: ContainerConfig, over: Partial<CriContainerContext> = {}): CriContainerContext => ({
  id: 'c1', config, rootfs: '/r', imageName: 'busybox',
  image: { entrypoint: [], cmd: ['sh'], env: ['IMG=1'], workingDir: '', user: '', stopSignal: undefined } as never,
  sandbox: {
    id: 'p1', name: 'web', namespace: 'ns', uid: 'u1', hostname: 'web-host', hostNetwork: false, hostIPC: false, privileged: false, sysctls: {},
    namespaces: { network: '/run/p/ns/net', ipc: '/run/p/ns/ipc', uts: '/run/p/ns/uts' },
    etcFiles: { hosts: '/run/p/etc/hosts', hostname: '/run/p/etc/hostname', resolvConf: '/run/p/etc/resolv.conf' }, shm: '/run/p/ns/shm',
  },
  statDevice: () => undefined, readProfile: () => '{}', defaultSeccomp: 'unconfined', selinuxEnabled: false,
  hostCapabilities: ALL_CAPS.filter((c) => c !== 'CAP_SYS_RESOURCE'),
  ...over,
});

t.test('sandbox plan: namespaces, DNS, ports, cgroup, errors naming CRI fields', async (t) => {
  const p = planSandbox(sandbox({
    dns_config: { servers: ['10.0.0.10'], searches: ['ns.svc.cluster.local'], options: ['ndots:5'] },
    port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' }, { protocol: 'UDP', container_port: 53, host_port: 0, host_ip: '' }],
    linux: { cgroup_parent: '/kubepods/besteffort/podu1', security_context: null, sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' }, overhead: null, resources: null },
  }));
  t.match(p.pod.spec, { hostname: 'web-host', hostNetwork: false, shareProcessNamespace: true, dnsPolicy: 'None', restartPolicy: 'Never' });
  t.same(p.pod.spec.dnsConfig, { nameservers: ['10.0.0.10'], searches: ['ns.svc.cluster.local'], options: [{ name: 'ndots', value: '5' }] });
  t.same(p.portMappings, [{ field: 'config.port_mappings[0].host_port', hostPort: 8080, containerPort: 80, protocol: 'tcp' }], 'a mapping without a host port maps nothing');
  t.equal(p.cgroupParent, 'kubepods/besteffort/podu1');
  t.same(p.pod.spec.securityContext?.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
  const host = planSandbox(sandbox({ hostname: '', linux: { cgroup_parent: '', sysctls: {}, overhead: null, resources: null, security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'NODE', target_id: '', userns_options: null } } as never } }), () => 'node-1');
  t.match(host.pod.spec, { hostNetwork: true, hostIPC: true, shareProcessNamespace: false, hostname: 'node-1' });
  t.throws(() => planSandbox(sandbox({ metadata: { name: '', namespace: 'n', uid: 'u', attempt: 0 } })), { message: /^config\.metadata\.name: required/, field: 'config.metadata.name' });
  t.equal(fieldOf(() => planSandbox(sandbox({ linux: { cgroup_parent: 'a/../../b', security_context: null, sysctls: {}, overhead: null, resources: null } }))), 'config.linux.cgroup_parent');
  t.equal(fieldOf(() => planSandbox(sandbox({ port_mappings: [{ protocol: 'TCP', container_port: 0, host_port: 80, host_ip: '' }] }))), 'config.port_mappings[0].container_port');
  t.equal(fieldOf(() => planSandbox(null)), 'config');
  // what would become a second line of /etc/hosts or resolv.conf
  t.equal(fieldOf(() => planSandbox(sandbox({ hostname: 'web\n10.0.0.1 evil' }))), 'config.hostname');
  t.equal(fieldOf(() => planSandbox(sandbox({ dns_config: { servers: ['10.0.0.10\nsearch evil'], searches: [], options: [] } }))), 'config.dns_config.servers[0]');
  t.equal(fieldOf(() => planSandbox(sandbox({ dns_config: { servers: [], searches: ['a.b', 'x y'], options: [] } }))), 'config.dns_config.searches[1]');
  t.equal(fieldOf(() => planSandbox(sandbox({ dns_config: { servers: [], searches: [], options: ['ndots:5\nnameserver 1.2.3.4'] } }))), 'config.dns_config.options[0]');
});

t.test('userns_options: NODE, or POD with one mapping from 0 (what critest checks)', async (t) => {
  const withUserns = (u: unknown, net = 'POD') => sandbox({ linux: { cgroup_parent: '', sysctls: {}, overhead: null, resources: null, security_context: { namespace_options: { network: net, pid: 'POD', ipc: 'POD', target_id: '', userns_options: u } } as never } });
  const map = (container_id: number, host_id: number, length: number) => ({ container_id, host_id, length });
  const pod = planSandbox(withUserns({ mode: 'POD', uids: [map(0, 1000, 100000)], gids: [map(0, 2000, 100000)] }));
  t.same(pod.userns, { uidBase: 1000, gidBase: 2000, size: 100000 });
  t.equal(pod.pod.spec.hostUsers, false);
  t.equal(planSandbox(withUserns({ mode: 'NODE', uids: [], gids: [] })).userns, undefined);
  const at = 'config.linux.security_context.namespace_options.userns_options';
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'POD', uids: [map(0, 1000, 100000), map(0, 2000, 100000)], gids: [map(0, 1000, 100000)] }))), `${at}.uids`, 'more than one mapping');
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'POD', uids: [map(1, 1000, 100000)], gids: [map(1, 1000, 100000)] }))), `${at}.uids[0].container_id`, 'container id 0 unmapped');
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'CONTAINER', uids: [], gids: [] }))), `${at}.mode`);
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'TARGET', uids: [], gids: [] }))), `${at}.mode`);
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'POD', uids: [map(0, 1000, 10)], gids: [map(0, 1000, 20)] }))), `${at}.gids[0].length`);
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'POD', uids: [map(0, 0xfffffff0, 65536)], gids: [map(0, 1000, 65536)] }))), `${at}.uids[0].length`);
  t.equal(fieldOf(() => planSandbox(withUserns({ mode: 'POD', uids: [map(0, 1000, 65536)], gids: [map(0, 1000, 65536)] }, 'NODE'))), 'config.linux.security_context.namespace_options.network');
});

t.test('restrictOomScoreAdj: never below the server\'s own (containerd\'s restrict_oom_score_adj)', async (t) => {
  const critical = container({ command: ['x'], linux: { resources: { ...emptyResources, oom_score_adj: '-997' } } as never });
  t.equal(criContainerConfig(ctx(critical)).process!.oomScoreAdj, -997, 'as asked by default');
  t.equal(criContainerConfig(ctx(critical, { minOomScoreAdj: 0 })).process!.oomScoreAdj, undefined, 'clamped to 0: left as it is');
  t.equal(criContainerConfig(ctx(critical, { minOomScoreAdj: -500 })).process!.oomScoreAdj, -500);
  const high = container({ command: ['x'], linux: { resources: { ...emptyResources, oom_score_adj: '1000' } } as never });
  t.equal(criContainerConfig(ctx(high, { minOomScoreAdj: 0 })).process!.oomScoreAdj, 1000, 'a higher one as asked');
});

t.test('container config: process, user, namespaces, mounts, capabilities, resources', async (t) => {
  const c = criContainerConfig(ctx(container({
    command: ['/bin/app'], args: ['-v'], envs: [{ key: 'A', value: 'b' }], working_dir: '/work',
    mounts: [{ container_path: '/data', host_path: '/srv/data', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER', uidMappings: [], gidMappings: [], recursive_read_only: false, image: null },
      { container_path: '/etc/hosts', host_path: '/k/etc-hosts', readonly: false, selinux_relabel: false, propagation: 'PROPAGATION_PRIVATE', uidMappings: [], gidMappings: [], recursive_read_only: false, image: null }],
    linux: {
      resources: { ...emptyResources, cpu_shares: '512', memory_limit_in_bytes: '67108864', oom_score_adj: '100' },
      security_context: { capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['KILL'], add_ambient_capabilities: [] }, run_as_user: { value: '1000' }, run_as_group: { value: '3000' }, supplemental_groups: ['4000'], namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '', userns_options: null } } as never,
    },
  })));
  t.same(c.process!.args, ['/bin/app', '-v']);
  t.same(c.process!.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'IMG=1', 'HOSTNAME=web-host', 'A=b']);
  t.equal(c.process!.cwd, '/work');
  t.equal(c.process!.oomScoreAdj, 100);
  t.same(c.process!.user, { uid: 1000, gid: 3000, additionalGids: [4000] });
  t.ok(c.process!.capabilities!.bounding!.includes('CAP_NET_ADMIN'));
  t.notOk(c.process!.capabilities!.bounding!.includes('CAP_KILL'));
  t.same(c.linux!.namespaces, [{ type: 'mount' }, { type: 'cgroup' }, { type: 'network', path: '/run/p/ns/net' }, { type: 'uts', path: '/run/p/ns/uts' }, { type: 'ipc', path: '/run/p/ns/ipc' }, { type: 'pid' }]);
  const dest = (d: string) => c.mounts!.filter((m) => m.destination === d);
  t.same(dest('/etc/hosts').map((m) => m.source), ['/k/etc-hosts'], "kubelet's /etc/hosts replaces the sandbox's");
  t.same(dest('/etc/resolv.conf').map((m) => m.source), ['/run/p/etc/resolv.conf']);
  t.same(dest('/dev/shm').map((m) => m.source), ['/run/p/ns/shm'], 'one /dev/shm: the pod\'s');
  t.same(dest('/data')[0].options, ['rbind', 'rslave', 'ro']);
  t.equal(c.linux!.rootfsPropagation, 'rslave');
  t.match(c.linux!.resources, { cpu: { shares: 512 }, memory: { limit: 67108864 } });
});

t.test('privileged: every capability podrun holds, every device; needs a privileged sandbox', async (t) => {
  const priv = container({ linux: { resources: null, security_context: { privileged: true } as never } });
  t.equal(fieldOf(() => criContainerConfig(ctx(priv))), 'config.linux.security_context.privileged');
  const c = criContainerConfig(ctx(priv, { sandbox: { ...ctx(priv).sandbox, privileged: true } }));
  t.notOk(c.process!.capabilities!.bounding!.includes('CAP_SYS_RESOURCE'), 'not what the host withholds');
  t.ok(c.process!.capabilities!.bounding!.includes('CAP_SYS_ADMIN'));
  t.same(c.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  t.equal(c.linux!.maskedPaths, undefined);
});

t.test('container config errors name the CRI field', async (t) => {
  const bad = (over: Partial<ContainerConfig>, field: string) => t.equal(fieldOf(() => criContainerConfig(ctx(container(over)))), field, field);
  bad({ working_dir: 'rel' }, 'config.working_dir');
  bad({ envs: [{ key: '', value: 'x' }] }, 'config.envs[0].key');
  bad({ mounts: [{ container_path: '/x', host_path: 'rel', readonly: false, selinux_relabel: false, propagation: 'PROPAGATION_PRIVATE', uidMappings: [], gidMappings: [], recursive_read_only: false, image: null }] }, 'config.mounts[0].host_path');
  bad({ mounts: [{ container_path: '/x', host_path: '/h', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_PRIVATE', uidMappings: [], gidMappings: [], recursive_read_only: true, image: null }] }, 'config.mounts[0].recursive_read_only');
  bad({ devices: [{ container_path: '/dev/x', host_path: '/dev/null', permissions: 'rwx' }] }, 'config.devices[0].permissions');
  bad({ linux: { resources: null, security_context: { run_as_username: 'nobody-here' } as never } }, 'config.linux.security_context.run_as_username');
  bad({ linux: { resources: null, security_context: { namespace_options: { pid: 'TARGET', target_id: 'x' } } as never } }, 'config.linux.security_context.namespace_options.target_id');
  bad({ linux: { resources: null, security_context: { seccomp: { profile_type: 'Localhost', localhost_ref: 'rel.json' } } as never } }, 'config.linux.security_context.seccomp.localhost_ref');
});

t.test('hosts.toml: mirrors in order, then the server; http is plain', async (t) => {
  const eps = parseHostsToml('server = "https://registry.k8s.io"\n[host."http://127.0.0.1:5000"]\n  capabilities = ["pull", "resolve"]\n[host."https://push.example"]\n  capabilities = ["push"]\n', 'hosts.toml', 'registry.k8s.io');
  t.same(eps, [{ host: '127.0.0.1:5000', insecure: true }, { host: 'registry.k8s.io', insecure: false }]);
  t.throws(() => parseHostsToml('server = "ftp://x"', 'f/hosts.toml', 'x'), { message: /^f\/hosts\.toml: server: / });
});

t.test('server config: unknown and malformed keys named as written', async (t) => {
  t.same(parseCriConfig('root: /run/x\ncni: { confDir: /etc/cni/net.d }\n', 'c.yaml'), { root: '/run/x', cni: { confDir: '/etc/cni/net.d' } });
  t.throws(() => parseCriConfig('cni: { confdir: /x }\n', 'c.yaml'), { message: /^c\.yaml: cni: unknown key confdir/ });
  t.throws(() => parseCriConfig('listen: tcp://0.0.0.0:1\n', 'c.yaml'), { message: /^c\.yaml: listen: must be unix/ });
  t.equal(fieldOf(() => parseCriConfig('cgroupDriver: systemd\n', 'c.yaml')), 'cgroupDriver');
});

t.test('recursive_read_only: "rro" on a read-only private mount where the kernel makes it; refused otherwise (critest\'s three)', async (t) => {
  const mount = (over: object) => ({ container_path: '/mnt', host_path: '/h', readonly: true, selinux_relabel: true, propagation: 'PROPAGATION_PRIVATE' as const, uidMappings: [], gidMappings: [], recursive_read_only: true, image: null, ...over });
  const opts = (c: ReturnType<typeof criContainerConfig>) => c.mounts!.find((m) => m.destination === '/mnt')!.options;
  t.same(opts(criContainerConfig(ctx(container({ mounts: [mount({})] }), { recursiveReadOnlyMounts: true }))), ['rbind', 'rprivate', 'ro', 'rro']);
  t.same(opts(criContainerConfig(ctx(container({ mounts: [mount({ recursive_read_only: false })] }), { recursiveReadOnlyMounts: true }))), ['rbind', 'rprivate', 'ro']);
  const refused = (over: object, why: RegExp) => t.throws(() => criContainerConfig(ctx(container({ mounts: [mount(over)] }), { recursiveReadOnlyMounts: true })), { field: 'config.mounts[0].recursive_read_only', message: why });
  refused({ readonly: false }, /needs readonly/);
  refused({ propagation: 'PROPAGATION_HOST_TO_CONTAINER' }, /needs propagation PROPAGATION_PRIVATE, not PROPAGATION_HOST_TO_CONTAINER/);
  refused({ propagation: 'PROPAGATION_BIDIRECTIONAL' }, /not PROPAGATION_BIDIRECTIONAL/);
  t.throws(() => criContainerConfig(ctx(container({ mounts: [mount({})] }))), { field: 'config.mounts[0].recursive_read_only', message: /Linux ≥ 5\.12/ }, 'not where the kernel cannot');
});
