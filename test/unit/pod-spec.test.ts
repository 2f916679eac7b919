/** Pod manifest → validated pod → per-container OCI configs. Pure. */
import t from 'tap';
import { containerDefaults } from '../../src/image/image-config';
import { parseImageConfig } from '../../src/image/image-docs';
import { containerConfig, DEFAULT_CAPS, type ContainerContext } from '../../src/pod/container-spec';
import { parsePodManifest } from '../../src/pod/manifest';
import { hostResolvConf, resolvConf, writeEtcFiles } from '../../src/pod/sandbox';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allocateIdRange, userNamespaceErrors, USERNS_BASE } from '../../src/pod/user-namespace';

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

t.test('unknown fields are refused as kubectl refuses them (--validate=strict), warned or passed over when asked', async (t) => {
  const TYPO = YAML.replace('        readOnlyRootFilesystem: true\n', '        readOnlyRootFilesystem: true\n      weirdField: 1\n');
  t.throws(() => parsePodManifest(TYPO, 'web.yaml'), { message: /web\.yaml: invalid Pod:\n {2}spec\.containers\[0\]\.weirdField: unknown field/ });
  const { pod, warnings } = parsePodManifest(TYPO, 'web.yaml', { validate: 'warn' });
  t.equal(pod.metadata.name, 'web');
  t.same(warnings, [
    'web.yaml: metadata.uid: ignored (it means something only to a cluster)',
    'web.yaml: spec.nodeSelector: ignored (it means something only to a cluster)',
    'web.yaml: spec.containers[0].weirdField: unknown field',
  ]);
  t.same(parsePodManifest(TYPO, 'web.yaml', { validate: 'ignore' }).warnings, warnings.slice(0, 2), 'ignore: only what a cluster alone uses is said');
  const clean = YAML;
  t.same(parsePodManifest(clean, 'web.yaml').warnings, warnings.slice(0, 2));
  t.same(parsePodManifest(JSON.stringify(pod), 'web.json', { validate: 'warn' }).pod.spec.containers.length, 2, 'JSON works too');
  // a typo'd command would run the image's default; typos deep in lists and nested objects are caught too
  const typo = (from: string, to: string, path: RegExp) => t.throws(() => parsePodManifest(clean.replace(from, to), 'p.yaml'), { message: path }, to);
  typo('command:', 'comand:', /spec\.containers\[\d\]\.comand: unknown field/);
  typo('mountPath: /data', 'mountpath: /data', /volumeMounts\[0\]\.mountpath: unknown field|mountPath/);
  typo('fieldPath: metadata.name', 'fieldpath: metadata.name', /valueFrom\.fieldRef\.fieldpath: unknown field|fieldPath/);
  // Kubernetes fields podrun does not do are refused by name, never silently dropped
  typo('mountPath: /data', 'mountPath: /data, mountPropagation: Bidirectional', /spec\.containers\[1\]\.volumeMounts\[0\]\.mountPropagation: Bidirectional mount propagation is available only to privileged containers/);
  typo('mountPath: /data', 'mountPath: /data, mountPropagation: Sideways', /volumeMounts\[0\]\.mountPropagation: /);
  t.ok(parsePodManifest(clean.replace('mountPath: /data', 'mountPath: /data, mountPropagation: None'), 'p.yaml'), 'None is what podrun does');
});

t.test('invalid and unsupported fields fail with their path', async (t) => {
  const bad = (edit: string, re: RegExp) => t.throws(() => parsePodManifest(YAML.replace('restartPolicy: OnFailure', edit), 'p.yaml'), re);
  bad('restartPolicy: Sometimes', /spec\.restartPolicy: must be one of Always, OnFailure, Never/);
  bad('restartPolicy: Never\n  ephemeralContainers: []', /spec\.ephemeralContainers: not supported by podrun/);
  t.throws(() => parsePodManifest(YAML.replace('name: sidecar', 'name: server'), 'p.yaml'), /spec\.containers\[1\]\.name: "server" is already used by spec\.containers\[0\]/);
  t.throws(() => parsePodManifest(YAML.replace('name: shared, mountPath: /data', 'name: nope, mountPath: /data'), 'p.yaml'), /volumeMounts\[0\]\.name: no volume named "nope"/);
  t.throws(() => parsePodManifest(YAML.replace('subPath: site', 'subPath: ../etc'), 'p.yaml'), /subPath: must be a relative path without "\.\."/);
  // quantities are checked with the rest of the manifest, all at once
  const res = (r: string): string => YAML.replace('resources: { requests: { cpu: 250m }, limits: { cpu: 500m, memory: 64Mi } }', `resources: ${r}`);
  t.throws(() => parsePodManifest(res('{ requests: { cpu: 2 }, limits: { cpu: 500m, memory: 12XB, pods: "-1" } }').replace('emptyDir: {}', 'emptyDir: { sizeLimit: lots }'), 'p.yaml'), {
    message: [
      'p.yaml: invalid Pod:',
      '  spec.volumes[0].emptyDir.sizeLimit: "lots" is not a Kubernetes quantity',
      '  spec.containers[0].resources.limits.memory: "12XB" is not a Kubernetes quantity',
      '  spec.containers[0].resources.limits.pods: must be greater than or equal to 0',
      '  spec.containers[0].resources.requests.cpu: 2 must be less than or equal to the cpu limit ("500m")',
    ].join('\n'),
  });
  t.doesNotThrow(() => parsePodManifest(res('{ requests: { cpu: 500m, memory: 64Mi }, limits: { cpu: "0.5", memory: 64Mi } }'), 'p.yaml'), 'a request equal to its limit');
  t.throws(() => parsePodManifest(YAML.replace('emptyDir: {}', 'persistentVolumeClaim: { claimName: s }'), 'p.yaml'), /spec\.volumes\[0\]\.persistentVolumeClaim: not supported/);
  t.throws(() => parsePodManifest(YAML.replace('name: web\n', 'name: Web_1\n'), 'p.yaml'), /metadata\.name/);
  t.throws(() => parsePodManifest('kind: Deployment', 'd.yaml'), /d\.yaml: invalid Deployment:\n {2}apiVersion: missing: a Deployment is apps\/v1/);
  t.throws(() => parsePodManifest('kind: CronJob', 'c.yaml'), /kind "CronJob": podrun runs Pods, Deployment, ReplicaSet, DaemonSet, StatefulSet, Job/);
  t.throws(() => parsePodManifest('a: [', 'x.yaml'), /x\.yaml: not valid YAML or JSON/);
  t.throws(() => parsePodManifest(YAML.replace('fieldPath: metadata.name', 'fieldPath: metadata.labels'), 'p.yaml'), /fieldRef\.fieldPath: "metadata\.labels" is not supported/);
  t.throws(() => parsePodManifest(YAML.replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: false\n        seLinuxOptions: {}'), 'p.yaml'), /securityContext\.seLinuxOptions: not supported/);
});

t.test('envFrom (prefix, optional, invalid names skipped), env over it; labels, annotations and resources as env', async (t) => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: { name: ef, labels: { app: shop }, annotations: { team: blue } }
spec:
  containers:
    - name: c
      image: busybox
      resources: { limits: { cpu: 1500m, memory: 64Mi } }
      envFrom:
        - configMapRef: { name: settings }
        - { prefix: S_, secretRef: { name: creds } }
        - configMapRef: { name: absent, optional: true }
      env:
        - { name: MODE, value: "from-env $(MODE)" }
        - { name: APP, valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }
        - { name: TEAM, valueFrom: { fieldRef: { fieldPath: "metadata.annotations['team']" } } }
        - { name: CPU, valueFrom: { resourceFieldRef: { resource: limits.cpu } } }
        - { name: MEM_MI, valueFrom: { resourceFieldRef: { resource: limits.memory, divisor: 1Mi } } }
        - { name: REQ_MILLI, valueFrom: { resourceFieldRef: { resource: requests.cpu, divisor: 1m } } }
        - { name: SIDE_MEM, valueFrom: { resourceFieldRef: { resource: limits.memory, containerName: side } } }
    - { name: side, image: busybox }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { MODE: cm, LEVEL: "3", "1st": skipped }
---
apiVersion: v1
kind: Secret
metadata: { name: creds }
stringData: { USER: admin }
`;
  const { pod, objects } = parsePodManifest(yaml, 'ef.yaml');
  const c = containerConfig({ ...ctx(), pod, container: pod.spec.containers[0], objects, nodeAllocatable: { cpu: 2, memory: 8 * 2 ** 30, 'ephemeral-storage': 1e9 } });
  // kubelet's order is a map's: compared as a set
  t.same(c.process?.env?.slice(3).filter((e) => !e.startsWith('HOME=')).sort(), [
    'MODE=from-env cm', 'LEVEL=3', 'S_USER=admin', 'APP=shop', 'TEAM=blue', 'CPU=2', 'MEM_MI=64', 'REQ_MILLI=1500', `SIDE_MEM=${8 * 2 ** 30}`,
  ].sort(), 'envFrom, env over it (expanded against it); invalid names skipped; cpu rounded up; an unset limit is the node\'s');
  t.throws(() => containerConfig({ ...ctx(), pod, container: pod.spec.containers[0], objects: { configMaps: {}, secrets: {} } }), /spec\.containers\[0\]\.envFrom\[0\]\.configMapRef: ConfigMap settings was not given/);
  t.throws(() => parsePodManifest(yaml.replace('resource: limits.cpu', 'resource: limits.gpu'), 'ef.yaml'), /resourceFieldRef\.resource: "limits\.gpu" is not supported/);
  t.throws(() => parsePodManifest(yaml.replace('containerName: side', 'containerName: nope'), 'ef.yaml'), /resourceFieldRef\.containerName: no container named "nope"/);
  t.throws(() => parsePodManifest(yaml.replace('- configMapRef: { name: settings }', '- { configMapRef: { name: settings }, secretRef: { name: creds } }'), 'ef.yaml'), /envFrom\[0\]: exactly one of configMapRef, secretRef/);
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
  // subPath: the volume is the source, the subPath an option the launch resolves beneath it (never joined by name)
  t.same(side.mounts?.find((x) => x.destination === '/data'), {
    destination: '/data', type: 'bind', source: '/var/lib/podrun/pods/x/volumes/shared',
    options: ['rbind', 'rprivate', 'rw', 'nosuid', 'nodev', 'x-podrun.subpath=site'],
  });
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

t.test('ConfigMaps and Secrets in the same file (--- documents or a List): env refs and read-only volumes', async (t) => {
  const objs = `apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { greeting: hi }
binaryData: { blob: AAEC }
---
apiVersion: v1
kind: Secret
metadata: { name: sec }
data: { pw: czNjcjN0 }
stringData: { user: admin }
---
`;
  const withRefs = YAML.replace('        - { name: MODE, value: prod }', `        - { name: MODE, value: prod }
        - { name: G, valueFrom: { configMapKeyRef: { name: cfg, key: greeting } } }
        - { name: U, valueFrom: { secretKeyRef: { name: sec, key: user } } }
        - { name: O, valueFrom: { secretKeyRef: { name: sec, key: nope, optional: true } } }`).replace('emptyDir: {}', 'configMap: { name: cfg, defaultMode: 0440 }');
  const parsed = parsePodManifest(objs + withRefs, 'p.yaml');
  t.same(Object.keys(parsed.objects.configMaps), ['cfg']);
  t.equal(Buffer.from(parsed.objects.configMaps.cfg.blob, 'base64').toString('hex'), '000102', 'binaryData kept as bytes');
  t.equal(Buffer.from(parsed.objects.secrets.sec.pw, 'base64').toString(), 's3cr3t');
  t.equal(parsed.pod.spec.volumes?.[0].configMap?.defaultMode, 0o440, 'YAML 1.1 as kubectl reads it: 0440 is octal');
  const base = ctx();
  const c = containerConfig({ ...base, pod: parsed.pod, container: parsed.pod.spec.containers[0], objects: parsed.objects, readOnlyVolumes: ['shared'] });
  t.ok(c.process?.env?.includes('G=hi'));
  t.ok(c.process?.env?.includes('U=admin'));
  t.notOk(c.process?.env?.some((e) => e.startsWith('O=')), 'an optional missing key: no variable');
  t.ok(c.mounts?.find((m) => m.destination === '/srv')?.options?.includes('ro'), 'configMap volumes are read-only');
  t.throws(() => containerConfig({ ...base, pod: parsed.pod, container: parsed.pod.spec.containers[0] }), /env\[1\]\.valueFrom\.configMapKeyRef: ConfigMap cfg was not given/);
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } }] });
  t.same(parsePodManifest(list, 'l.json').objects.configMaps, { x: { a: Buffer.from('b').toString('base64') } }, 'a v1 List');
  t.throws(() => parsePodManifest(`${objs}${objs}${withRefs}`, 'p.yaml'), /ConfigMap cfg is given twice/);
  t.throws(() => parsePodManifest(`${withRefs}---\n${withRefs}`, 'p.yaml'), /p\.yaml \(document 2\): metadata\.name: Pod \S+ is also p\.yaml \(document 1\)/);
  t.throws(() => parsePodManifest('apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata: { k: "not base64!" }\n---\n' + withRefs, 'p.yaml'), /p\.yaml \(document 1\): invalid Secret:\n {2}data\.k: must be base64/);
  t.throws(() => parsePodManifest(withRefs.replace('configMap: { name: cfg, defaultMode: 0440 }', 'configMap: { name: cfg, items: [{ key: greeting, path: ../x }] }'), 'p.yaml'), /spec\.volumes\[0\]\.configMap\.items\[0\]\.path: must be a relative path/);
});

t.test('the default container of logs/exec/attach: kubectl\'s rule', async (t) => {
  const { defaultContainer } = await import('../../src/pod/default-container');
  const pod = (annotations: string, containers: string[], inits: string[] = []) => parsePodManifest(JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', ...(annotations && { annotations: { 'kubectl.kubernetes.io/default-container': annotations } }) },
    spec: {
      containers: containers.map((name) => ({ name, image: 'busybox' })),
      ...(inits.length && { initContainers: inits.map((name) => ({ name, image: 'busybox' })) }),
    },
  }), 'p.json').pod;
  t.same(defaultContainer(pod('', ['only'])), { name: 'only' }, 'one container: no notice');
  t.same(defaultContainer(pod('', ['a', 'b'], ['i'])), { name: 'a', notice: 'Defaulted container "a" out of: a, b, i (init)' });
  t.same(defaultContainer(pod('', ['a'], ['i'])), { name: 'a', notice: 'Defaulted container "a" out of: a, i (init)' }, 'init containers count as a choice');
  t.same(defaultContainer(pod('b', ['a', 'b'])), { name: 'b' }, 'the annotation chooses, silently');
  t.same(defaultContainer(pod('i', ['a', 'b'], ['i'])), { name: 'i' }, 'an init container too');
  t.same(defaultContainer(pod('gone', ['a', 'b'])), { name: 'a', notice: 'Defaulted container "a" out of: a, b' }, 'an annotation naming no container is ignored');
});

t.test('hostUsers: false — ranges and what such pods cannot ask', async (t) => {
  t.same(allocateIdRange([]), { uidBase: USERNS_BASE, gidBase: USERNS_BASE, size: 65536 });
  const first = { uidBase: USERNS_BASE, gidBase: USERNS_BASE, size: 65536 };
  t.equal(allocateIdRange([first]).uidBase, USERNS_BASE + 65536, 'the next free slot');
  t.equal(allocateIdRange([{ uidBase: USERNS_BASE + 65536, gidBase: 0, size: 65536 }]).uidBase, USERNS_BASE, 'a freed slot first');
  t.equal(allocateIdRange([{ uidBase: USERNS_BASE + 100, gidBase: 0, size: 100000 }]).uidBase, USERNS_BASE + 2 * 65536, 'no overlap with a range of another size (a CRI pod\'s)');
  t.equal(allocateIdRange([], { base: 1 << 20, size: 1 << 17 }).size, 1 << 17);
  t.throws(() => allocateIdRange([], { size: 1000 }), { code: 'EINVALID_CONFIG', field: 'userNamespaces.size' });
  t.throws(() => allocateIdRange([], { base: 0xffff0000 }), { code: 'EHOST' });
  const pod = (spec: Record<string, unknown>, c: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { hostUsers: false, containers: [{ name: 'c', image: 'x', ...c }], ...spec } }) as never;
  const errs = (p: never) => userNamespaceErrors(p, (p as { spec: { containers: never[] } }).spec.containers.map((c, i) => [`spec.containers[${i}]`, c]));
  t.same(errs(pod({})), []);
  t.match(errs(pod({ hostPID: true, shareProcessNamespace: true })), [/^spec\.hostPID: /]);
  t.same(errs(pod({ shareProcessNamespace: true })), [], 'a shared PID namespace is made in the pod\'s user namespace');
  t.match(errs(pod({ securityContext: { fsGroup: 65536, supplementalGroups: [5, 70000] } })), [/^spec\.securityContext\.fsGroup: 65536 is outside/, /^spec\.securityContext\.supplementalGroups\[1\]: 70000/]);
  t.same(errs(pod({ hostUsers: true, hostNetwork: true })), [], 'hostUsers: true is the default');
});

t.test('volumeMounts recursiveReadOnly: the API server\'s rules, then "rro" where the kernel makes it', async (t) => {
  const withRro = (mount: string) => YAML.replace('{ name: shared, mountPath: /srv, readOnly: true }', mount);
  const bad = (mount: string, re: RegExp) => t.throws(() => parsePodManifest(withRro(mount), 'p.yaml'), { message: re }, mount);
  bad('{ name: shared, mountPath: /srv, recursiveReadOnly: Enabled }', /spec\.containers\[0\]\.volumeMounts\[0\]\.recursiveReadOnly: may only be specified when readOnly is true/);
  bad('{ name: shared, mountPath: /srv, readOnly: false, recursiveReadOnly: IfPossible }', /recursiveReadOnly: may only be specified when readOnly is true/);
  bad('{ name: shared, mountPath: /srv, readOnly: true, recursiveReadOnly: Always }', /volumeMounts\[0\]\.recursiveReadOnly: /);
  const opts = (mount: string, supported: boolean) => {
    const { pod } = parsePodManifest(withRro(mount), 'p.yaml');
    const c = containerConfig({ ...ctx(), pod, container: pod.spec.containers[0], recursiveReadOnlyMounts: supported });
    return c.mounts?.find((x) => x.destination === '/srv')?.options;
  };
  t.same(opts('{ name: shared, mountPath: /srv, readOnly: true, recursiveReadOnly: Enabled }', true), ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev', 'rro']);
  t.same(opts('{ name: shared, mountPath: /srv, readOnly: true, recursiveReadOnly: IfPossible }', true), ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev', 'rro']);
  t.same(opts('{ name: shared, mountPath: /srv, readOnly: true, recursiveReadOnly: IfPossible }', false), ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'], 'IfPossible: read-only on top where the kernel cannot');
  t.same(opts('{ name: shared, mountPath: /srv, readOnly: true, recursiveReadOnly: Disabled }', true), ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev']);
  t.throws(() => opts('{ name: shared, mountPath: /srv, readOnly: true, recursiveReadOnly: Enabled }', false), { message: /^spec\.containers\[0\]\.volumeMounts\[0\]\.recursiveReadOnly: Enabled needs recursive read-only mounts/ });
});

t.test('volumeMounts subPathExpr: the container\'s variables expanded, then held to subPath\'s rule', async (t) => {
  const sidecar = (mount: string, env = '') => YAML.replace('volumeMounts: [{ name: shared, mountPath: /data, subPath: site }]', `volumeMounts: [${mount}]${env}`);
  const bad = (yaml: string, re: RegExp) => t.throws(() => parsePodManifest(yaml, 'p.yaml'), { message: re });
  bad(sidecar('{ name: shared, mountPath: /data, subPath: a, subPathExpr: b }'), /spec\.containers\[1\]\.volumeMounts\[0\]\.subPathExpr: subPathExpr and subPath are mutually exclusive/);
  bad(sidecar('{ name: shared, mountPath: /data, subPathExpr: ../$(X) }'), /volumeMounts\[0\]\.subPathExpr: must be a relative path without "\.\."/);
  const options = (yaml: string) => {
    const { pod } = parsePodManifest(yaml, 'p.yaml');
    return containerConfig({ ...ctx(), pod, container: pod.spec.containers[1], field: 'spec.containers[1]' }).mounts!.find((m) => m.destination === '/data')!.options;
  };
  const envs = '\n      env: [{ name: POD, valueFrom: { fieldRef: { fieldPath: metadata.name } } }, { name: DIR, value: "logs/$(POD)" }, { name: UP, value: ".." }]';
  t.same(options(sidecar('{ name: shared, mountPath: /data, subPathExpr: $(DIR)/x }', envs))?.at(-1), 'x-podrun.subpath=logs/web/x', 'fieldRef, then a variable made of it');
  t.same(options(sidecar('{ name: shared, mountPath: /data, subPathExpr: $(NOPE) }', envs))?.at(-1), 'x-podrun.subpath=$(NOPE)', 'an undefined name stays as written, as kubelet');
  t.same(options(sidecar('{ name: shared, mountPath: /data, subPathExpr: "" }', envs)), ['rbind', 'rprivate', 'rw', 'nosuid', 'nodev'], 'empty: the whole volume');
  // what a variable holds is checked once expanded: a ConfigMap or fieldRef value cannot lead the mount out
  t.throws(() => options(sidecar('{ name: shared, mountPath: /data, subPathExpr: $(UP)/etc }', envs)), { message: /^spec\.containers\[1\]\.volumeMounts\[0\]\.subPathExpr: expands to "\.\.\/etc": must be a relative path without "\.\."/ });
});

t.test('volumeMounts mountPropagation: None, HostToContainer, Bidirectional as kubelet maps them (rprivate, rslave, rshared) with a root that passes them on', async (t) => {
  const sidecar = (mount: string, extra = '') => YAML.replace('volumeMounts: [{ name: shared, mountPath: /data, subPath: site }]', `volumeMounts: [${mount}]${extra}`);
  const config = (yaml: string) => {
    const { pod } = parsePodManifest(yaml, 'p.yaml');
    return containerConfig({ ...ctx(), pod, container: pod.spec.containers[1], field: 'spec.containers[1]' });
  };
  const none = config(sidecar('{ name: shared, mountPath: /data, mountPropagation: None }'));
  t.same(none.mounts!.find((m) => m.destination === '/data')!.options, ['rbind', 'rprivate', 'rw', 'nosuid', 'nodev']);
  t.equal(none.linux!.rootfsPropagation, undefined, 'the default root');
  const h2c = config(sidecar('{ name: shared, mountPath: /data, mountPropagation: HostToContainer }'));
  t.same(h2c.mounts!.find((m) => m.destination === '/data')!.options, ['rbind', 'rslave', 'rw', 'nosuid', 'nodev']);
  t.equal(h2c.linux!.rootfsPropagation, 'rslave');
  const bi = config(sidecar('{ name: shared, mountPath: /data, mountPropagation: Bidirectional }', '\n      securityContext: { privileged: true }'));
  t.same(bi.mounts!.find((m) => m.destination === '/data')!.options, ['rbind', 'rshared', 'rw', 'nosuid', 'nodev']);
  t.equal(bi.linux!.rootfsPropagation, 'rshared');
});

t.test('spec.os, supplementalGroupsPolicy and procMount', async (t) => {
  const bad = (from: string, to: string, re: RegExp) => t.throws(() => parsePodManifest(YAML.replace(from, to), 'p.yaml'), { message: re }, to);
  bad('restartPolicy: OnFailure', 'restartPolicy: OnFailure\n  os: { name: windows }', /spec\.os\.name: "windows": podrun runs Linux containers/);
  t.ok(parsePodManifest(YAML.replace('restartPolicy: OnFailure', 'restartPolicy: OnFailure\n  os: { name: linux }'), 'p.yaml'));
  bad('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: false\n        procMount: Unmasked', /spec\.containers\[0\]\.securityContext\.procMount: `hostUsers` must be false to use `Unmasked`/);
  // the image's /etc/group puts app (1000) in group 1000 only; give it one more to see Merge and Strict apart
  const withGroups = { group: 'root:x:0:\napp:x:1000:\nextra:x:3000:app\n' };
  const groups = (policy: string) => {
    const { pod } = parsePodManifest(YAML.replace('fsGroup: 2000', `fsGroup: 2000\n    supplementalGroups: [4000]${policy ? `\n    supplementalGroupsPolicy: ${policy}` : ''}`), 'p.yaml');
    return containerConfig({ ...ctx(), ...withGroups, pod, container: pod.spec.containers[0] }).process!.user.additionalGids;
  };
  t.same(groups(''), [3000, 4000, 2000], 'Merge (the default): the image\'s groups for the user, then the Pod\'s');
  t.same(groups('Strict'), [4000, 2000], 'Strict: only the Pod\'s');
  const { pod } = parsePodManifest(YAML.replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: false\n        procMount: Unmasked').replace('restartPolicy: OnFailure', 'restartPolicy: OnFailure\n  hostUsers: false').replace('runAsUser: 1000\n', 'runAsUser: 1000\n'), 'p.yaml');
  const unmasked = containerConfig({ ...ctx(), pod, container: pod.spec.containers[0] });
  t.equal(unmasked.linux!.maskedPaths, undefined, 'Unmasked: nothing masked');
  t.equal(unmasked.linux!.readonlyPaths, undefined);
  t.ok(containerConfig(ctx()).linux!.maskedPaths?.length, 'Default: the runtime\'s masked paths');
});

t.test('lifecycle.stopSignal: with spec.os.name, a Linux signal name (real-time ones too)', async (t) => {
  const yaml = (os: string, sig: string) => YAML.replace('restartPolicy: OnFailure', `restartPolicy: OnFailure${os}`).replace('        readOnlyRootFilesystem: true\n', `        readOnlyRootFilesystem: true\n      lifecycle: { stopSignal: ${sig} }\n`);
  t.throws(() => parsePodManifest(yaml('', 'SIGQUIT'), 'p.yaml'), { message: /spec\.containers\[0\]\.lifecycle\.stopSignal: may not be set for containers with empty `spec\.os\.name`/ });
  t.throws(() => parsePodManifest(yaml('\n  os: { name: linux }', 'QUIT'), 'p.yaml'), { message: /lifecycle\.stopSignal: "QUIT" is not a Linux signal name/ });
  t.equal(parsePodManifest(yaml('\n  os: { name: linux }', 'SIGQUIT'), 'p.yaml').pod.spec.containers[0].lifecycle?.stopSignal, 'SIGQUIT');
  t.ok(parsePodManifest(yaml('\n  os: { name: linux }', 'SIGRTMIN+3'), 'p.yaml'));
});

t.test('setHostnameAsFQDN: the hostname is the FQDN where there is a subdomain; /etc/hosts keeps both names; too long is refused', async (t) => {
  const yaml = (extra: string) => YAML.replace('restartPolicy: OnFailure', `restartPolicy: OnFailure${extra}`);
  const fqdnPod = parsePodManifest(yaml('\n  subdomain: db\n  setHostnameAsFQDN: true'), 'p.yaml').pod;
  const c = containerConfig({ ...ctx(), pod: fqdnPod, container: fqdnPod.spec.containers[0], namespaces: { network: '/n', ipc: '/i' } });
  t.equal(c.hostname, 'web.db.shop.svc.cluster.local');
  t.ok(c.process!.env!.includes('HOSTNAME=web.db.shop.svc.cluster.local'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-etc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = writeEtcFiles(dir, fqdnPod, 'nameserver 10.0.0.1\n', '10.1.2.3');
  t.equal(fs.readFileSync(files.hostname, 'utf8'), 'web.db.shop.svc.cluster.local\n');
  t.match(fs.readFileSync(files.hosts, 'utf8'), /^10\.1\.2\.3\tweb\.db\.shop\.svc\.cluster\.local web$/m);
  const plain = parsePodManifest(yaml('\n  setHostnameAsFQDN: true'), 'p.yaml').pod;
  t.equal(containerConfig({ ...ctx(), pod: plain, container: plain.spec.containers[0], namespaces: { network: '/n', ipc: '/i' } }).hostname, 'web', 'no subdomain: no domain to add');
  t.throws(() => parsePodManifest(yaml(`\n  subdomain: ${'s'.repeat(40)}\n  setHostnameAsFQDN: true`), 'p.yaml'), { message: /spec\.setHostnameAsFQDN: the FQDN web\.s+\.shop\.svc\.cluster\.local is too long \(64 characters is the max, \d+ characters requested\)/ });
});
