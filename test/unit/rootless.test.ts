/** Rootless podrun's pure parts: namespace maps, the user's paths and ids, the delegated cgroup, what a pod may ask. */
import t from 'tap';
import { delegatedCgroup } from '../../src/cgroup/delegation';
import { overlayOptions } from '../../src/image/overlay';
import { unpackChanges } from '../../src/image/pull';
import { buildLaunchPlan, devptsDataFor, planMount, rootlessHostNamespaceMounts } from '../../src/oci/build-plan';
import { defaultSpec } from '../../src/oci/default-spec';
import { validateConfig } from '../../src/oci/validate';
import { rootlessErrors } from '../../src/pod/rootless-pod';
import { isIdentityMap, parseIdMap, rootlessDataDir, rootlessRunDir, rootlessViewOf } from '../../src/util/rootless';

t.test('the host namespace is not rootless; a user namespace is, with its root and size', async (t) => {
  const host = '         0          0 4294967295\n';
  t.ok(isIdentityMap(parseIdMap(host)));
  t.equal(rootlessViewOf(host, host), null);
  t.same(rootlessViewOf('0 1001 1\n1 100000 65536\n', '0 1002 1\n1 100000 65536\n'), { hostUid: 1001, hostGid: 1002, ids: 65537 });
  t.same(rootlessViewOf('0 1001 1\n', '0 1001 1\n'), { hostUid: 1001, hostGid: 1001, ids: 1 });
  // a hostUsers: false pod's namespace (0 base size) is a user namespace too
  t.same(rootlessViewOf('0 2147483648 65536', '0 2147483648 65536'), { hostUid: 2147483648, hostGid: 2147483648, ids: 65536 });
  t.same(parseIdMap('junk\n0 1 2 3\n'), []);
});

t.test("the user's directories: XDG first, then podman's fallbacks", async (t) => {
  t.equal(rootlessRunDir({ XDG_RUNTIME_DIR: '/run/user/1001' }, 1001), '/run/user/1001/podrun');
  t.equal(rootlessRunDir({}, 1001), '/tmp/podrun-1001');
  t.equal(rootlessDataDir({ XDG_DATA_HOME: '/d' }, '/home/u'), '/d/podrun');
  t.equal(rootlessDataDir({ HOME: '/home/x' }, '/home/u'), '/home/x/.local/share/podrun');
  t.equal(rootlessDataDir({}, '/home/u'), '/home/u/.local/share/podrun');
});

t.test('the delegated cgroup: the highest writable one on the way up from ours', async (t) => {
  const writable = (set: string[]) => (c: string) => set.includes(c);
  t.equal(delegatedCgroup('/user.slice/user-1001.slice/user@1001.service/app.slice', writable(['/user.slice/user-1001.slice/user@1001.service', '/user.slice/user-1001.slice/user@1001.service/app.slice'])), '/user.slice/user-1001.slice/user@1001.service');
  t.equal(delegatedCgroup('/a/b', writable(['/a/b'])), '/a/b');
  t.equal(delegatedCgroup('/a/b', writable(['/a'])), null, 'ours not writable: nothing is delegated');
  t.equal(delegatedCgroup('/a/b', writable(['/a/b', '/'])), '/a/b', 'a writable ancestor past an unwritable one does not count');
});

t.test('overlayfs in a user namespace keeps its xattrs as user.overlay.*', async (t) => {
  const p = { rootfs: '/r', upper: '/u', work: '/w', dir: '/d' } as never;
  t.equal(overlayOptions(['/l1', '/l2'], p), 'lowerdir=/l2:/l1,upperdir=/u,workdir=/w');
  t.equal(overlayOptions(['/l1'], p, true), 'lowerdir=/l1,upperdir=/u,workdir=/w,userxattr');
});

t.test('an unpack in a user namespace says what it could not keep', async (t) => {
  t.same(unpackChanges({ unmappedOwners: 0, skippedDevices: 0 }), []);
  const [owners, devices] = unpackChanges({ unmappedOwners: 3, skippedDevices: 2 });
  t.match(owners, /^3 entries are owned by ids your user namespace does not map.*\/etc\/subuid.*uidmap/);
  t.match(devices, /^2 device nodes skipped/);
});

t.test('rootless launch plans: no device cgroup program, devices bound from the host', async (t) => {
  const cfg = validateConfig(defaultSpec());
  const root = buildLaunchPlan(cfg, { bundle: '/b', cgroup: '/sys/fs/cgroup/x' }).plan;
  const rootless = buildLaunchPlan(cfg, { bundle: '/b', cgroup: '/sys/fs/cgroup/x', rootless: { ids: 65537 } }).plan;
  t.ok((root.deviceRules ?? []).length > 0);
  t.same(rootless.deviceRules, []);
  t.ok(rootless.devices.length > 0 && rootless.devices.every((d) => d.bind));
  t.ok(root.devices.every((d) => !d.bind));
  const pts = (p: typeof root) => p.mounts.find((m) => m.type === 'devpts')!.data;
  t.match(pts(rootless), /gid=5/, 'gid 5 exists with subordinate ids');
  const single = buildLaunchPlan(cfg, { bundle: '/b', cgroup: '/sys/fs/cgroup/x', rootless: { ids: 1 } }).plan;
  t.notMatch(pts(single), /gid=/, 'with one id, devpts without gid=5');
  t.match(pts(single), /newinstance/);
  t.equal(devptsDataFor('newinstance,gid=5,mode=620', 6), 'newinstance,gid=5,mode=620');
  t.equal(devptsDataFor('newinstance,gid=5,mode=620', 5), 'newinstance,mode=620');
});

t.test('what a rootless pod may not ask, by field', async (t) => {
  const pod = (spec: Record<string, unknown>, c: Record<string, unknown> = {}) =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x', ...c }], ...spec } }) as never;
  const view = { hostUid: 1001, hostGid: 1001, ids: 65537 };
  t.same(rootlessErrors(pod({}), null), [], 'as root: nothing');
  t.same(rootlessErrors(pod({ securityContext: { runAsUser: 65536 } }), view), []);
  t.match(rootlessErrors(pod({ hostUsers: false }), view), [/^spec\.hostUsers: false: rootless/]);
  const mounts = (p: string) => ({ securityContext: { privileged: true }, volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: p }] });
  t.match(rootlessErrors(pod({}, mounts('Bidirectional')), view), [/^spec\.containers\[0\]\.volumeMounts\[0\]\.mountPropagation: Bidirectional: rootless, .* never the host's/]);
  t.same(rootlessErrors(pod({}, mounts('HostToContainer')), view), [], 'HostToContainer: the host\'s mounts reach the user\'s namespace');
  t.same(rootlessErrors(pod({ hostNetwork: true, hostPID: true, hostIPC: true }), view, { hostMqueue: true }), [], "the host's namespaces: their mounts bound");
  t.match(rootlessErrors(pod({ hostNetwork: true, hostPID: true, hostIPC: true, shareProcessNamespace: true }), view, { hostMqueue: false }), [
    /^spec\.hostIPC: rootless, the container's \/dev\/mqueue is the host's, bound, and this host has no mqueue file system at \/dev\/mqueue/,
  ]);
  t.same(rootlessErrors(pod({ hostPID: true }), view, { cgroup: true }), [], 'with a delegated cgroup: the host\'s PID namespace');
  t.match(rootlessErrors(pod({ hostPID: true, shareProcessNamespace: true }), view, { cgroup: false }), [
    /^spec\.hostPID: rootless with no cgroup v2 subtree delegated to you, podrun ends a container's processes with its own PID namespace/,
    /^spec\.shareProcessNamespace: rootless with no cgroup/,
  ], 'without one: no PID namespace of its own to end a container\'s processes');
  t.same(rootlessErrors(pod({}), view, { cgroup: false }), [], 'a pod of its own PID namespaces runs without one');
  t.match(rootlessErrors(pod({}), view, { network: 'podrun' }), [/^network "podrun": rootless, CNI networks are not available/]);
  t.match(rootlessErrors(pod({ securityContext: { runAsUser: 65537, supplementalGroups: [70000] } }, { securityContext: { runAsGroup: 99999 } }), view), [
    /^spec\.securityContext\.runAsUser: 65537 is outside your user namespace's ids \(0–65536\)/,
    /^spec\.securityContext\.supplementalGroups\[0\]: 70000/,
    /^spec\.containers\[0\]\.securityContext\.runAsGroup: 99999/,
  ]);
  t.match(rootlessErrors(pod({}, { securityContext: { runAsUser: 1000 } }), { ...view, ids: 1 }), [/runAsUser: 1000 is outside your user namespace's ids \(0–0: without a range in \/etc\/subuid/]);
});

t.test("rootless, the host's namespaces get the host's /sys, /proc and /dev/mqueue bound, recursively", async (t) => {
  const m = (type: string, destination: string, flags = 0) =>
    ({ source: type, destination, type, data: '', flags, propagation: 0, bind: false, field: `mounts[${destination}]` });
  const mounts = [m('proc', '/proc'), m('sysfs', '/sys', 1 | 2 | 4 | 8), m('mqueue', '/dev/mqueue', 2 | 4 | 8), m('tmpfs', '/dev')];
  const host = rootlessHostNamespaceMounts(mounts, new Set());
  t.same(host.map((x) => [x.destination, x.source, x.type, x.bind, x.flags]), [
    ['/proc', '/proc', '', true, 4096 | 16384],
    ['/sys', '/sys', '', true, 1 | 2 | 4 | 8 | 4096 | 16384], // ro, nosuid, nodev, noexec kept
    ['/dev/mqueue', '/dev/mqueue', '', true, 2 | 4 | 8 | 4096 | 16384],
    ['/dev', 'tmpfs', 'tmpfs', false, 0],
  ]);
  t.same(rootlessHostNamespaceMounts(mounts, new Set(['network', 'pid', 'ipc'] as const)), mounts, 'namespaces of the pod: mounted as usual');
  t.same(rootlessHostNamespaceMounts(mounts, new Set(['network'] as const)).map((x) => x.bind), [true, false, true, false]);
  // a cgroup2 mount without a cgroup namespace of the container's own (rootless podman on a host it deems v1)
  const cg = planMount({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] }, 0, '/b');
  t.same(rootlessHostNamespaceMounts([cg], new Set(), '/sys/fs/cgroup/unified').map((x) => [x.source, x.type, x.bind, x.flags]), [['/sys/fs/cgroup/unified', '', true, 1 | 2 | 4 | 8 | 4096 | 16384]], "the host's cgroup2 mount, bound read-only");
  t.same(rootlessHostNamespaceMounts([cg], new Set(['cgroup'] as const)), [cg], 'its own cgroup namespace: mounted');
});
