/** Pod manifest → validated pod → per-container OCI configs. Pure. */
import t from 'tap';
import { containerDefaults } from '../../src/image/image-config';
import { parseImageConfig } from '../../src/image/image-docs';
import { containerConfig, DEFAULT_CAPS, type ContainerContext } from '../../src/pod/container-spec';
import { parsePodManifest } from '../../src/pod/manifest';
import { hostResolvConf, resolvConf } from '../../src/pod/sandbox';

const YAML = `
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: { app: web }
  uid: ignored-by-podrun
spec:
  nodeSelector: { disk: ssd }
  restartPolicy: OnFailure
  securityContext:
    fsGroup: 2000
    sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: "80" }]
  volumes:
    - name: shared
      emptyDir: {}
  containers:
    - name: server
      image: busybox
      command: [httpd, -f]
      args: [-p, "8080"]
      env:
        - { name: MODE, value: prod }
        - name: POD
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
      workingDir: /srv
      volumeMounts: [{ name: shared, mountPath: /srv, readOnly: true }]
      resources: { requests: { cpu: 250m }, limits: { cpu: 500m, memory: 64Mi } }
      securityContext:
        runAsUser: 1000
        capabilities: { drop: [NET_RAW], add: [SYS_TIME] }
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
      weirdField: 1
    - name: sidecar
      image: busybox
      volumeMounts: [{ name: shared, mountPath: /data, subPath: site }]
`;

const image = containerDefaults(parseImageConfig(JSON.stringify({
  architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
  config: { Env: ['PATH=/usr/bin:/bin', 'IMAGE=1'], Cmd: ['sh'], WorkingDir: '/' },
}), 'c'));

function ctx(over: Partial<ContainerContext> = {}, which = 0): ContainerContext {
  const { pod } = parsePodManifest(YAML, 'web.yaml');
  return {
    pod,
    container: pod.spec.containers[which],
    field: `spec.containers[${which}]`,
    rootfs: '/var/lib/podrun/pods/x/server/rootfs',
    image,
    passwd: 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    group: 'root:x:0:\napp:x:1000:\n',
    namespaces: { network: '/run/podrun/pods/x/ns/net', ipc: '/run/podrun/pods/x/ns/ipc', uts: '/run/podrun/pods/x/ns/uts' },
    etcFiles: { hosts: '/run/podrun/pods/x/hosts', hostname: '/run/podrun/pods/x/hostname', resolvConf: '/run/podrun/pods/x/resolv.conf' },
    volumes: { shared: '/var/lib/podrun/pods/x/volumes/shared' },
    ...over,
  };
}

t.test('a manifest parses; cluster-only and unknown fields are warned', async (t) => {
  const { pod, warnings } = parsePodManifest(YAML, 'web.yaml');
  t.equal(pod.metadata.name, 'web');
  t.same(warnings, [
    'web.yaml: metadata.uid: ignored (it means something only to a cluster)',
    'web.yaml: spec.nodeSelector: ignored (it means something only to a cluster)',
    'web.yaml: spec.containers[0].weirdField: unknown field',
  ]);
  t.same(parsePodManifest(JSON.stringify(pod), 'web.json').pod.spec.containers.length, 2, 'JSON works too');
});

t.test('invalid and unsupported fields fail with their path', async (t) => {
  const bad = (edit: string, re: RegExp) => t.throws(() => parsePodManifest(YAML.replace('restartPolicy: OnFailure', edit), 'p.yaml'), re);
  bad('restartPolicy: Sometimes', /spec\.restartPolicy: must be one of Always, OnFailure, Never/);
  bad('restartPolicy: Never\n  ephemeralContainers: []', /spec\.ephemeralContainers: not supported by podrun/);
  t.throws(() => parsePodManifest(YAML.replace('name: sidecar', 'name: server'), 'p.yaml'), /spec\.containers\[1\]\.name: "server" is already used by spec\.containers\[0\]/);
  t.throws(() => parsePodManifest(YAML.replace('name: shared, mountPath: /data', 'name: nope, mountPath: /data'), 'p.yaml'), /volumeMounts\[0\]\.name: no volume named "nope"/);
  t.throws(() => parsePodManifest(YAML.replace('subPath: site', 'subPath: ../etc'), 'p.yaml'), /subPath: must be a relative path without "\.\."/);
  t.throws(() => parsePodManifest(YAML.replace('emptyDir: {}', 'secret: { secretName: s }'), 'p.yaml'), /spec\.volumes\[0\]\.secret: not supported/);
  t.throws(() => parsePodManifest(YAML.replace('name: web\n', 'name: Web_1\n'), 'p.yaml'), /metadata\.name/);
  t.throws(() => parsePodManifest('kind: Deployment', 'd.yaml'), /kind "Deployment": podrun runs Pods/);
  t.throws(() => parsePodManifest('a: [', 'x.yaml'), /x\.yaml: not valid YAML or JSON/);
  t.throws(() => parsePodManifest(YAML.replace('fieldPath: metadata.name', 'fieldPath: metadata.labels'), 'p.yaml'), /fieldRef\.fieldPath: "metadata\.labels" is not supported/);
  t.throws(() => parsePodManifest(YAML.replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: false\n        seLinuxOptions: {}'), 'p.yaml'), /securityContext\.seLinuxOptions: not supported/);
});

t.test('process: Kubernetes command/args over the image, env with fieldRefs, workingDir', async (t) => {
  const c = containerConfig(ctx());
  t.same(c.process?.args, ['httpd', '-f', '-p', '8080']);
  t.same(c.process?.env, ['PATH=/usr/bin:/bin', 'IMAGE=1', 'HOSTNAME=web', 'MODE=prod', 'POD=web', 'HOME=/home/app']);
  t.equal(c.process?.cwd, '/srv');
  const side = containerConfig(ctx({}, 1));
  t.same(side.process?.args, ['sh'], 'no command: the image Cmd');
});

t.test('user, groups, capabilities, no_new_privs, read-only root', async (t) => {
  const c = containerConfig(ctx());
  t.same(c.process?.user, { uid: 1000, gid: 1000, additionalGids: [2000] }, 'runAsUser, its primary group, fsGroup');
  const caps = c.process?.capabilities?.bounding ?? [];
  t.notOk(caps.includes('CAP_NET_RAW'), 'dropped');
  t.ok(caps.includes('CAP_SYS_TIME'), 'added');
  t.equal(caps.length, DEFAULT_CAPS.length);
  t.equal(c.process?.noNewPrivileges, true);
  t.same(c.root, { path: '/var/lib/podrun/pods/x/server/rootfs', readonly: true });
  const side = containerConfig(ctx({}, 1));
  t.same(side.process?.user, { uid: 0, gid: 0, additionalGids: [2000] });
  t.equal(side.process?.noNewPrivileges, false, 'allowPrivilegeEscalation defaults to true');
  t.throws(() => containerConfig(ctx({ pod: { ...ctx().pod, spec: { ...ctx().pod.spec, securityContext: { runAsNonRoot: true } } } }, 1)), /runAsNonRoot: the container would run as root/);
});

t.test('namespaces: the sandbox\'s by path; host* and shareProcessNamespace', async (t) => {
  const c = containerConfig(ctx());
  t.same(c.linux?.namespaces, [
    { type: 'mount' }, { type: 'cgroup' },
    { type: 'network', path: '/run/podrun/pods/x/ns/net' }, { type: 'ipc', path: '/run/podrun/pods/x/ns/ipc' }, { type: 'uts', path: '/run/podrun/pods/x/ns/uts' },
    { type: 'pid' },
  ]);
  t.equal(c.hostname, undefined, 'the joined UTS namespace carries the name');
  const base = ctx();
  const host = containerConfig(ctx({ pod: { ...base.pod, spec: { ...base.pod.spec, hostNetwork: true, hostIPC: true, hostPID: true } } }));
  t.same(host.linux?.namespaces, [{ type: 'mount' }, { type: 'cgroup' }]);
  const shared = containerConfig(ctx({ pod: { ...base.pod, spec: { ...base.pod.spec, shareProcessNamespace: true } }, namespaces: { ...base.namespaces, pid: '/p/pid' } }));
  t.same(shared.linux?.namespaces?.at(-1), { type: 'pid', path: '/p/pid' });
});

t.test('mounts: pod /etc files, volumes with readOnly and subPath; sysctls; resources', async (t) => {
  const c = containerConfig(ctx());
  const m = (d: string) => c.mounts?.find((x) => x.destination === d);
  t.same(m('/etc/hosts')?.source, '/run/podrun/pods/x/hosts');
  t.same(m('/srv'), { destination: '/srv', type: 'bind', source: '/var/lib/podrun/pods/x/volumes/shared', options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'] });
  const side = containerConfig(ctx({}, 1));
  t.equal(side.mounts?.find((x) => x.destination === '/data')?.source, '/var/lib/podrun/pods/x/volumes/shared/site');
  t.same(c.linux?.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '80' });
  t.same(c.linux?.resources?.cpu, { shares: 256, quota: 50000, period: 100000 });
  t.same(c.linux?.resources?.memory, { limit: 64 * 1024 * 1024 });
  t.same(c.linux?.resources?.devices, [{ allow: false, access: 'rwm' }], 'device deny-all kept');
  t.same(c.annotations?.['io.kubernetes.container.name'], 'server');
});

t.test('privileged: all caps, devices, no masked paths', async (t) => {
  const base = ctx();
  const priv = containerConfig(ctx({ container: { ...base.container, securityContext: { privileged: true } } }));
  t.ok((priv.process?.capabilities?.bounding ?? []).includes('CAP_SYS_ADMIN'));
  t.equal(priv.linux?.maskedPaths, undefined);
  t.same(priv.linux?.resources?.devices, [{ allow: true, access: 'rwm' }]);
});

t.test('seccompProfile: Unconfined by default; RuntimeDefault by capabilities; Localhost read by name; privileged never filtered', async (t) => {
  const base = ctx();
  t.equal(containerConfig(base).linux?.seccomp, undefined, 'Kubernetes default: Unconfined');
  const rd = containerConfig(ctx({ container: { ...base.container, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } }));
  const denied = rd.linux?.seccomp?.syscalls?.[0];
  t.equal(rd.linux?.seccomp?.defaultAction, 'SCMP_ACT_ALLOW');
  t.equal(denied?.action, 'SCMP_ACT_ERRNO');
  for (const s of ['mount', 'unshare', 'kexec_load', 'init_module', 'bpf', 'keyctl', 'reboot', 'settimeofday']) t.ok(denied?.names.includes(s), `${s} denied`);
  t.notOk(denied?.names.includes('read'));
  const withTime = containerConfig(ctx({ container: { ...base.container, securityContext: { seccompProfile: { type: 'RuntimeDefault' }, capabilities: { add: ['SYS_TIME'] } } } }));
  t.notOk(withTime.linux?.seccomp?.syscalls?.[0].names.includes('settimeofday'), 'a granted capability unlocks its syscalls');
  const podLevel = containerConfig(ctx({ pod: { ...base.pod, spec: { ...base.pod.spec, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } } }));
  t.ok(podLevel.linux?.seccomp, 'the pod-level profile applies');
  const priv = containerConfig(ctx({ container: { ...base.container, securityContext: { privileged: true, seccompProfile: { type: 'RuntimeDefault' } } } }));
  t.equal(priv.linux?.seccomp, undefined, 'privileged: unconfined');
  const profiles: Record<string, string> = { 'p/mine.json': '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}' };
  const read = (n: string): string => {
    if (!(n in profiles)) throw new Error(`no profile ${n}`);
    return profiles[n];
  };
  const lh = (name: string) => containerConfig(ctx({ container: { ...base.container, securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: name } } }, readSeccompProfile: read }));
  t.equal(lh('p/mine.json').linux?.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  t.throws(() => lh('../etc/x'), /spec\.containers\[0\]\.securityContext\.seccompProfile\.localhostProfile: must be a relative path without "\.\."/);
  t.throws(() => lh('nope.json'), /localhostProfile: nope\.json: no profile nope\.json/);
});

t.test('resolv.conf: host file merged with dnsConfig; loopback resolvers only for hostNetwork; the stub resolver\'s upstream file', async (t) => {
  const { pod } = parsePodManifest(`${YAML}  dnsConfig: { nameservers: [10.0.0.10], searches: [svc.local], options: [{ name: ndots, value: "2" }] }\n`, 'p.yaml');
  const host = 'nameserver 127.0.0.53\nnameserver 192.168.1.1\nsearch example.com\noptions edns0\n';
  t.equal(resolvConf(pod, host), 'nameserver 192.168.1.1\nnameserver 10.0.0.10\nsearch example.com svc.local\noptions edns0 ndots:2\n');
  t.match(resolvConf({ ...pod, spec: { ...pod.spec, hostNetwork: true } }, host), /^nameserver 127\.0\.0\.53\n/);
  t.equal(resolvConf({ ...pod, spec: { ...pod.spec, dnsPolicy: 'None' } }, host), 'nameserver 10.0.0.10\nsearch svc.local\noptions ndots:2\n');
  const files: Record<string, string> = { '/etc/resolv.conf': 'nameserver 127.0.0.53\n', '/run/systemd/resolve/resolv.conf': 'nameserver 9.9.9.9\n' };
  t.equal(hostResolvConf((f) => files[f]), 'nameserver 9.9.9.9\n');
  t.equal(hostResolvConf((f) => (f === '/etc/resolv.conf' ? 'nameserver 1.1.1.1\n' : undefined)), 'nameserver 1.1.1.1\n');
});
