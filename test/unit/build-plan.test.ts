/** Spec → plan translation, without root. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { enforceResources } from '../../src/oci/enforce-resources';
import { prepareLaunch } from '../../src/oci/prepare';
import { buildLaunchPlan, planDevices, planMount, planNamespaces, planSysctls } from '../../src/oci/build-plan';
import { capabilityMask, parseCapMask } from '../../src/oci/capabilities';
import { defaultSpec } from '../../src/oci/default-spec';
import { CLONE } from '../../src/oci/launch-plan';
import { MOUNT_ATTR, MS, parseMountOptions } from '../../src/oci/mount-options';
import { buildSeccompPlan } from '../../src/oci/seccomp';
import { validateConfig } from '../../src/oci/validate';
import { containerCgroupPath, ownCgroup2 } from '../../src/cgroup/cgroup-path';
import { findCgroup2Mount, mountPointOf } from '../../src/cgroup/mount';
import { PodrunError } from '../../src/errors';

const ctx = { bundle: '/bundles/b1' };

t.test('default spec builds a plan with runc semantics', async (t) => {
  const { plan, warnings } = buildLaunchPlan(validateConfig(defaultSpec()), ctx);
  t.same(warnings, []);
  t.equal(plan.rootfs, '/bundles/b1/rootfs');
  t.equal(plan.readonlyRoot, true);
  t.equal(plan.newNamespaces, CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS | CLONE.NEWCGROUP);
  t.same(plan.joins, []);
  t.equal(plan.hostname, 'podrun');
  t.equal(plan.capabilities?.bounding, (1n << 29n) | (1n << 5n) | (1n << 10n));
  t.equal(plan.capabilities?.ambient, 0n);
  t.same(plan.rlimits, [{ type: 'RLIMIT_NOFILE', resource: 7, soft: 1024n, hard: 1024n, field: 'process.rlimits[0]' }]);
  t.same(plan.devices.map((d) => d.path), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
  t.ok(plan.symlinks.some((l) => l.path === '/dev/ptmx' && l.target === 'pts/ptmx'), 'ptmx link with a devpts mount');
  const cg = plan.mounts.find((m) => m.destination === '/sys/fs/cgroup');
  t.equal(cg?.type, 'cgroup2', 'v1-style cgroup mount becomes cgroup2');
  t.equal(cg?.flags, MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY);
});

t.test('mount options map to flags, propagation and data like runc', async (t) => {
  t.same(parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']), { flags: MS.NOSUID | MS.STRICTATIME, propagation: 0, data: 'mode=755,size=65536k' });
  t.same(parseMountOptions(['rbind', 'ro', 'rslave']), { flags: MS.BIND | MS.REC | MS.RDONLY, propagation: MS.SLAVE | MS.REC, data: '' });
  t.equal(parseMountOptions(['ro', 'rw']).flags, 0, 'later option wins');
  t.equal(parseMountOptions(['idmap']).unsupported, 'idmap');
  t.notOk(parseMountOptions(['rbind', 'ro']).recursive, 'no recursive option, no mount_setattr');
  const bind = planMount({ destination: '/data/', source: 'vol', options: ['bind', 'ro'] }, 2, '/b');
  t.same(bind, { source: '/b/vol', destination: '/data', type: '', data: '', flags: MS.BIND | MS.RDONLY, propagation: 0, bind: true, field: 'mounts[2]' });
  t.throws(() => planMount({ destination: '/x', source: 'y' }, 0, '/b'), /mounts\[0\]\.type: required unless/);
  t.throws(() => planMount({ destination: '/x', type: 'bind' }, 1, '/b'), /mounts\[1\]\.source: a bind mount needs a source/);
});

t.test('namespaces: create vs join, duplicates rejected', async (t) => {
  const ns = planNamespaces({ namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/x' }] });
  t.equal(ns.created, CLONE.NEWPID);
  t.same(ns.joins, [{ type: CLONE.NEWNET, path: '/run/netns/x', field: 'linux.namespaces[1].path' }]);
  t.throws(() => planNamespaces({ namespaces: [{ type: 'ipc' }, { type: 'ipc' }] }), /linux\.namespaces\[1\]: namespace type ipc listed twice/);
});

t.test('user namespaces need mappings; devices are bound from the host there', async (t) => {
  const cfg = validateConfig(defaultSpec());
  cfg.linux!.namespaces!.push({ type: 'user' });
  t.throws(() => buildLaunchPlan(cfg, ctx), /linux\.uidMappings: required when creating a user namespace/);
  cfg.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 10, hostID: 5000, size: 1 }];
  cfg.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
  const { plan } = buildLaunchPlan(cfg, { ...ctx, hostCapabilities: 0n });
  t.equal(plan.uidMap, '0 1000 10\n10 5000 1\n');
  t.equal(plan.gidMap, '0 1000 10\n');
  t.ok(plan.devices.every((d) => d.bind));
  t.ok(planDevices(undefined, false).every((d) => !d.bind));
  const noUser = validateConfig(defaultSpec());
  noUser.linux!.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }];
  t.throws(() => buildLaunchPlan(noUser, ctx), /linux\.uidMappings: mappings need a new user namespace/);
});

t.test('sysctls only where namespaced', async (t) => {
  const ns = planNamespaces({ namespaces: [{ type: 'network' }, { type: 'ipc' }] });
  t.same(planSysctls({ 'net.ipv4.ip_forward': '1', 'fs.mqueue.msg_max': '20' }, ns).map((s) => s.path), ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/fs/mqueue/msg_max']);
  t.throws(() => planSysctls({ 'net.core.somaxconn': '1' }, planNamespaces({ namespaces: [] })), /needs a network namespace/);
  t.throws(() => planSysctls({ 'kernel.shmmax': '1' }, planNamespaces({ namespaces: [] })), /needs an IPC namespace/);
  t.throws(() => planSysctls({ 'kernel.panic': '1' }, ns), /is not namespaced/);
  t.throws(() => planSysctls({ 'net/../../x': '1' }, ns), /not a valid sysctl name/);
});

t.test('capabilities: names, host check', async (t) => {
  t.equal(capabilityMask(['CAP_CHOWN', 'kill', 'CAP_BPF'], 'f'), 1n | (1n << 5n) | (1n << 39n));
  t.throws(() => capabilityMask(['CAP_X'], 'process.capabilities.effective'), /process\.capabilities\.effective\[0\]: unknown capability "CAP_X"/);
  t.equal(parseCapMask('CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n', 'CapPrm'), 0x1fffeffffffn);
  const cfg = validateConfig(defaultSpec());
  cfg.process!.capabilities = { permitted: ['CAP_SYS_RESOURCE', 'CAP_KILL'] };
  const err = t.throws(() => buildLaunchPlan(cfg, { ...ctx, hostCapabilities: 0x1fffeffffffn })) as PodrunError;
  t.equal(err.code, 'EHOST');
  t.equal(err.field, 'process.capabilities.permitted');
  t.match(err.message, /CAP_SYS_RESOURCE cannot be granted/);
});

t.test('seccomp translation', async (t) => {
  const sc = buildSeccompPlan({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: ['SCMP_ARCH_X86_64'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }, { index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: 'SCMP_CMP_MASKED_EQ' }, { index: 1, value: 0, op: 'SCMP_CMP_NE' }] },
    ],
  });
  t.equal(sc.defaultAction, 0x00050000 + 38);
  t.equal(sc.flags, 2);
  t.same(sc.architectures, ['x86_64']);
  t.same(sc.rules.map((r) => r.name), ['read', 'write', 'personality', 'personality', 'clone'], 'same-index args split into OR rules');
  t.equal(sc.rules[4]!.args.length, 2, 'different-index args stay one AND rule');
  t.equal(sc.rules[4]!.action, 0x00050001, 'ERRNO defaults to EPERM');
  t.throws(() => buildSeccompPlan({ defaultAction: 'SCMP_ACT_NOPE' }), /linux\.seccomp\.defaultAction: unknown seccomp action/);
  t.throws(() => buildSeccompPlan({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }), /architectures\[0\]: unknown architecture/);
});

t.test('validation names JSON paths', async (t) => {
  t.throws(() => validateConfig({ ociVersion: '1.2.0', root: { path: 'r' }, process: { cwd: 'rel', user: { uid: -1, gid: 0 }, args: ['x'] } }), /process\.cwd: must be an absolute path[\s\S]*process\.user\.uid/);
  t.throws(() => validateConfig({ ociVersion: '0.9', root: { path: 'r' } }), /ociVersion: must be a runtime-spec 1\.x version/);
  t.doesNotThrow(() => validateConfig({ ...defaultSpec(), 'x-vendor': { anything: true } }), 'unknown properties are ignored, as the spec requires');
});

t.test('cgroup paths and mounts', async (t) => {
  t.equal(containerCgroupPath('/sys/fs/cgroup', 'c1'), '/sys/fs/cgroup/podrun.slice/c1');
  t.equal(containerCgroupPath('/sys/fs/cgroup/unified', 'c1', '/mine/c1'), '/sys/fs/cgroup/unified/mine/c1');
  t.throws(() => containerCgroupPath('/sys/fs/cgroup', 'c1', '/../../etc'), /must name a cgroup below/);
  // runc's cgroupfs driver: relative is below the parent of our own cgroup, slice:prefix:name a directory name
  t.equal(containerCgroupPath('/sys/fs/cgroup', 'c1', 'test.slice:cri-containerd:c1', '/'), '/sys/fs/cgroup/test.slice:cri-containerd:c1');
  t.equal(containerCgroupPath('/sys/fs/cgroup', 'c1', 'test.slice:cri-containerd:c1', '/system.slice/containerd.service'), '/sys/fs/cgroup/system.slice/test.slice:cri-containerd:c1');
  t.equal(containerCgroupPath('/sys/fs/cgroup', 'c1', 'a/b', '/x/y/z'), '/sys/fs/cgroup/x/y/a/b');
  t.throws(() => containerCgroupPath('/sys/fs/cgroup', 'c1', 'a/../../b', '/x/y'), /must name a cgroup below/);
  t.equal(ownCgroup2('12:pids:/\n0::/system.slice/containerd.service\n'), '/system.slice/containerd.service');
  t.equal(ownCgroup2('0::/\n'), '/');
  t.equal(ownCgroup2('1:name=systemd:/\n'), '/', 'no cgroup2 line: the root');
  const mi = [
    '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    '50 22 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw',
  ].join('\n');
  t.equal(findCgroup2Mount(mi), '/sys/fs/cgroup/unified');
  t.equal(findCgroup2Mount(mi.split('\n').slice(0, 2).join('\n')), undefined);
  const withContainer = `${mi}\n60 22 0:37 / /srv/bundle/rootfs/sys/fs/cgroup rw - cgroup2 cgroup2 rw`;
  t.equal(findCgroup2Mount(withContainer), '/sys/fs/cgroup/unified', "a container sharing our mount namespace mounted its own: still the host's");
  t.equal(findCgroup2Mount('60 22 0:37 / /run/cg2 rw - cgroup2 cgroup2 rw'), '/run/cg2', 'elsewhere when that is all there is');
  t.equal(mountPointOf(mi, '/mnt/with space/rootfs'), '/mnt/with space');
  t.equal(mountPointOf(mi, '/srv/x'), '/');
});

t.test('terminal needs a console socket, and only then', async (t) => {
  const { planConsole } = await import('../../src/oci/build-plan');
  const proc = validateConfig(defaultSpec()).process!;
  t.equal(planConsole(proc, undefined), undefined);
  t.throws(() => planConsole(proc, '/run/c.sock'), /process\.terminal: --console-socket was given but the process does not ask for a terminal/);
  const tty = { ...proc, terminal: true, consoleSize: { height: 30, width: 120 } };
  t.throws(() => planConsole(tty, undefined), /a terminal needs --console-socket/);
  t.same(planConsole(tty, '/run/c.sock'), { socket: '/run/c.sock', rows: 30, cols: 120 });
});

t.test('idmapped bind mounts: with the joined user namespace, one mapping for all, bind mounts only', async (t) => {
  const maps = { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] };
  type Mount = NonNullable<ReturnType<typeof defaultSpec>['mounts']>[number];
  const cfg = (userPath: string | undefined, extra: Mount[] = [], m: Partial<Mount> = maps) => {
    const c = defaultSpec({ rootfs: '/r' });
    delete c.hostname;
    c.linux!.namespaces = [{ type: 'mount' }, { type: 'pid' }, ...(userPath ? [{ type: 'user' as const, path: userPath }] : [])];
    c.mounts = [...(c.mounts ?? []), { destination: '/data', type: 'bind', source: '/srv', options: ['rbind'], ...m }, ...extra];
    return c;
  };
  const ok = buildLaunchPlan(cfg('/run/x/user'), { bundle: '/b' }).plan;
  t.same(ok.idmapExpect, { uidMap: '0 100000 65536\n', gidMap: '0 100000 65536\n' });
  t.ok(ok.mounts.find((m) => m.destination === '/data')?.idmap);
  const field = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { field?: string }).field;
    }
    return undefined;
  };
  const n = defaultSpec({ rootfs: '/r' }).mounts!.length;
  t.equal(field(() => buildLaunchPlan(cfg(undefined), { bundle: '/b' })), `mounts[${n}].uidMappings`, 'no joined user namespace');
  t.equal(field(() => buildLaunchPlan(cfg('/u', [{ destination: '/d2', type: 'bind', source: '/s2', options: ['rbind'], uidMappings: [{ containerID: 0, hostID: 1, size: 65536 }], gidMappings: maps.gidMappings }]), { bundle: '/b' })), `mounts[${n + 1}].uidMappings`, 'a second mapping');
  t.equal(field(() => buildLaunchPlan(cfg('/u', [], { uidMappings: maps.uidMappings }), { bundle: '/b' })), `mounts[${n}].gidMappings`, 'both maps');
});

t.test('no cgroup (rootless, none delegated): the container needs a PID namespace of its own, and its limits are said not enforced', async (t) => {
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-nocg-'));
  t.teardown(() => fs.rmSync(rootfs, { recursive: true, force: true }));
  const spec = (pid: Record<string, string> | null) => {
    const c = defaultSpec();
    c.root = { path: rootfs };
    c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'pid').concat(pid ? [pid as never] : []);
    c.linux!.resources = { memory: { limit: 64 << 20 }, pids: { limit: 10 } };
    return { config: c, bundle: rootfs };
  };
  const p = prepareLaunch(spec({ type: 'pid' }), { id: 'nocg', noCgroup: true });
  t.equal(p.cgroup, '');
  t.notOk(p.plan.cgroup, 'the launch clones into no cgroup');
  const said: string[] = [];
  enforceResources(p, false, (m) => said.push(m));
  t.same(said, ['memory.limit', 'pids.limit'].map((f) => `linux.resources.${f}: not enforced: the container has no cgroup (rootless, no cgroup v2 subtree delegated where it would be)`));
  t.throws(() => enforceResources(p, true, () => undefined), /strict limits/);
  t.throws(() => prepareLaunch(spec(null), { id: 'nocg', noCgroup: true }), /linux\.namespaces: without a cgroup, a container's processes are tracked by its PID namespace, so it needs one of its own \(this one stays in the host's\)/);
  t.throws(() => prepareLaunch(spec({ type: 'pid', path: '/proc/1/ns/pid' }), { id: 'nocg', noCgroup: true }), /this one joins \/proc\/1\/ns\/pid/);
});

t.test('recursive mount options (runtime spec 1.1, runc): mount_setattr attributes set and cleared on the whole tree', async (t) => {
  const A = MOUNT_ATTR;
  t.same(parseMountOptions(['rbind', 'ro', 'rro']), { flags: MS.BIND | MS.REC | MS.RDONLY, propagation: 0, data: '', recursive: { set: A.RDONLY, clear: 0 } });
  t.same(parseMountOptions(['rnosuid', 'rnodev', 'rnoexec']).recursive, { set: A.NOSUID | A.NODEV | A.NOEXEC, clear: 0 });
  t.same(parseMountOptions(['rro', 'rrw']).recursive, { set: 0, clear: A.RDONLY }, 'the later option wins');
  t.same(parseMountOptions(['rrw', 'rro']).recursive, { set: A.RDONLY, clear: 0 });
  // an access-time mode is a field: setting one clears the whole field (else the kernel says EINVAL)
  t.same(parseMountOptions(['rnoatime']).recursive, { set: A.NOATIME, clear: A.ATIME_MASK });
  t.same(parseMountOptions(['rnoatime', 'rstrictatime']).recursive, { set: A.STRICTATIME, clear: A.ATIME_MASK });
  t.same(parseMountOptions(['rnoatime', 'ratime']).recursive, { set: A.RELATIME, clear: A.ATIME_MASK }, 'its "no" form is the default mode');
  t.same(parseMountOptions(['rro', 'rnosymfollow', 'rnodiratime']).recursive, { set: A.RDONLY | A.NOSYMFOLLOW | A.NODIRATIME, clear: 0 });
  t.equal(parseMountOptions(['rro']).data, '', 'never passed on as file system data');
  const m = planMount({ destination: '/v', type: 'bind', source: '/host', options: ['rbind', 'ro', 'rro'] }, 0, '/b');
  t.same(m.recursive, { set: A.RDONLY, clear: 0 });
  t.equal(parseMountOptions(['tmpcopyup']).unsupported, 'tmpcopyup');
});
