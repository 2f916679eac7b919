/** Each failure step comes back as a clear error naming the step, errno and
 * field, and leaves nothing behind (mounts, cgroups, child processes). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { isRoot, makeBundle, podrunRun, runScript, snapshotHost, tempDir, uniqueId } from '../helpers';

if (!isRoot) {
  t.plan(0, 'integration tests need root');
} else {
  t.test('launch failures name step, errno and field', async (t) => {
    const before = await snapshotHost();
    const dir = await tempDir(t);
    const notNs = path.join(dir, 'plain-file');
    await writeFile(notNs, '');
    const cases: { name: string; edit: Parameters<typeof runScript>[2]; expect: RegExp }[] = [
      {
        name: 'exec of a missing program',
        edit: (c) => (c.process!.args = ['/bin/nope']),
        expect: /^podrun: exec "\/bin\/nope": ENOENT \[process\.args\[0\]\]$/m,
      },
      {
        name: 'PATH lookup that finds nothing',
        edit: (c) => (c.process!.args = ['no-such-tool']),
        expect: /exec "no-such-tool": ENOENT/,
      },
      {
        name: 'mount of an unknown filesystem type',
        edit: (c) => c.mounts!.push({ destination: '/mnt', type: 'nosuchfs', source: 'x' }),
        expect: /^podrun: mount \/mnt: ENODEV \[mounts\[7\]\]$/m,
      },
      {
        name: 'bind mount of a missing source',
        edit: (c) => c.mounts!.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-podrun-src', options: ['bind'] }),
        expect: /^podrun: mount \/nonexistent-podrun-src: ENOENT \[mounts\[7\]\]$/m,
      },
      {
        // a missing one is made, as runc makes it; a file is no directory to work in
        name: 'cwd that is a file',
        edit: (c) => (c.process!.cwd = '/etc/passwd/sub'),
        expect: /ENOTDIR \[process\.cwd\]$/m,
      },
      {
        name: 'namespace path that does not exist',
        edit: (c) => (c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/nonexistent/ns/net' } : n))),
        expect: /^podrun: open namespace \/nonexistent\/ns\/net: ENOENT \[linux\.namespaces\[1\]\.path\]$/m,
      },
      {
        name: 'namespace path that is not a namespace',
        edit: (c) => (c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'ipc' ? { type: 'ipc', path: notNs } : n))),
        expect: /^podrun: setns .*plain-file: EINVAL \[linux\.namespaces\[2\]\.path\]$/m,
      },
      {
        name: 'hard rlimit above the host hard limit (no CAP_SYS_RESOURCE here)',
        edit: (c) => (c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 10_000_000 }]),
        expect: /^podrun: rlimit RLIMIT_NOFILE: EPERM \(hard limit 10000000 is above podrun's own, .*CAP_SYS_RESOURCE.*\[process\.rlimits\[0\]\]$/m,
      },
      {
        name: 'unknown sysctl',
        edit: (c) => (c.linux!.sysctl = { 'net.ipv4.no_such_knob': '1' }),
        expect: /^podrun: sysctl \/proc\/sys\/net\/ipv4\/no_such_knob: ENOENT \[linux\.sysctl\["net\.ipv4\.no_such_knob"\]\]$/m,
      },
      {
        name: 'hostname longer than the kernel allows',
        edit: (c) => (c.hostname = 'h'.repeat(70)),
        expect: /^podrun: sethostname h+: EINVAL \[hostname\]$/m,
      },
      {
        name: 'uid not mapped in the user namespace',
        edit: (c) => {
          c.linux!.namespaces!.push({ type: 'user' });
          c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }];
          c.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }];
          c.process!.user = { uid: 5000, gid: 0 };
        },
        expect: /^podrun: setuid uid: EINVAL \[process\.user\.uid\]$/m,
      },
      {
        name: 'overlapping uid mappings',
        edit: (c) => {
          c.linux!.namespaces!.push({ type: 'user' });
          c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 5, hostID: 200000, size: 10 }];
          c.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 10 }];
        },
        expect: /^podrun: user namespace mapping uidMappings: EINVAL \[linux\.uidMappings\]$/m,
      },
      {
        name: 'capability the runtime itself lacks',
        edit: (c) => (c.process!.capabilities = { bounding: ['CAP_SYS_RESOURCE'], permitted: ['CAP_SYS_RESOURCE'], effective: ['CAP_SYS_RESOURCE'] }),
        expect: /^podrun: process\.capabilities\.permitted: CAP_SYS_RESOURCE cannot be granted/m,
      },
      {
        name: 'negative oom_score_adj (needs CAP_SYS_RESOURCE)',
        edit: (c) => (c.process!.oomScoreAdj = -500),
        expect: /^podrun: oom_score_adj -500: EACCES .*CAP_SYS_RESOURCE.*\[process\.oomScoreAdj\]$/m,
      },
      {
        name: 'missing rootfs',
        edit: (c) => (c.root.path = '/nonexistent-rootfs'),
        expect: /^podrun: rootfs \/nonexistent-rootfs: ENOENT$/m,
      },
    ];
    for (const c of cases) {
      const r = await runScript(t, 'echo should-not-run', c.edit);
      t.equal(r.code, 1, `${c.name}: exit 1`);
      t.equal(r.stdout, '', `${c.name}: nothing ran`);
      t.match(r.stderr, c.expect, c.name);
    }
    t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left behind');
  });

  t.test('invalid config: JSON path and reason, nothing created', async (t) => {
    const before = await snapshotHost();
    const bundle = await makeBundle(t, 'true');
    const cfg = JSON.parse(await import('node:fs/promises').then((f) => f.readFile(path.join(bundle, 'config.json'), 'utf8')));
    cfg.process.args = ['sh', 42];
    cfg.mounts[0].destination = 'relative';
    cfg.linux.namespaces.push({ type: 'bogus' });
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(cfg));
    const r = await podrunRun(bundle);
    t.equal(r.code, 1);
    t.match(r.stderr, /config\.json: invalid config:/);
    t.match(r.stderr, /process\.args\[1\]: must be string/);
    t.match(r.stderr, /mounts\[0\]\.destination: must be an absolute path/);
    t.match(r.stderr, /linux\.namespaces\[6\]\.type: must be one of pid, network, mount, ipc, uts, user, cgroup, time/);

    await writeFile(path.join(bundle, 'config.json'), '{"ociVersion": "1.2.0",');
    const bad = await podrunRun(bundle);
    t.match(bad.stderr, /config\.json: not valid JSON/);

    const missing = await podrunRun(path.join(bundle, 'nowhere'));
    t.match(missing.stderr, /config\.json: no such file \(is .* an OCI bundle\?\)/);

    const badId = await podrunRun(bundle, 'bad/id');
    t.match(badId.stderr, /id: invalid container ID format: "bad\/id"/);
    t.same(await snapshotHost(), before, 'nothing left behind');
  });

  t.test('unsupported settings are rejected, not ignored', async (t) => {
    const cases: [Parameters<typeof runScript>[2], RegExp][] = [
      [(c) => (c.process!.terminal = true), /process\.terminal: a terminal needs --console-socket/],
      [(c) => (c.process!.apparmorProfile = 'x'), /process\.apparmorProfile: AppArmor is not supported/],
      [(c) => c.mounts!.push({ destination: '/m', source: '/tmp', options: ['bind', 'idmap'] }), /mounts\[7\]\.options: mount option "idmap" is not supported/],
      [(c) => (c.linux!.sysctl = { 'vm.swappiness': '10' }), /linux\.sysctl\["vm\.swappiness"\]: is not namespaced/],
      [(c) => (c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'uts')), /hostname: setting a hostname needs a UTS namespace/],
      [(c) => (c.linux!.seccomp = { defaultAction: 'SCMP_ACT_NOTIFY' }), /linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY .* not supported yet/],
      [(c) => (c.process!.capabilities = { bounding: ['CAP_NOPE'] }), /process\.capabilities\.bounding\[0\]: unknown capability "CAP_NOPE"/],
    ];
    for (const [edit, expect] of cases) {
      const r = await runScript(t, 'echo ran', edit);
      t.equal(r.code, 1);
      t.equal(r.stdout, '');
      t.match(r.stderr, expect);
    }
  });

  t.test('cgroupsPath places the process; the cgroup is removed afterwards', async (t) => {
    const id = uniqueId('cg');
    const r = await runScript(t, 'cat /proc/self/cgroup', (c) => {
      c.linux!.cgroupsPath = `/podrun.slice/custom-${id}`;
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`^0::/podrun\\.slice/custom-${id}$`, 'm'));
    const { existsSync } = await import('node:fs');
    t.notOk(existsSync(`/sys/fs/cgroup/unified/podrun.slice/custom-${id}`));
  });

  t.test('a relative cgroupsPath, systemd slice:prefix:name syntax included, is a directory below our own cgroup\'s parent (as runc\'s cgroupfs driver)', async (t) => {
    const id = uniqueId('cg');
    const { existsSync, readFileSync } = await import('node:fs');
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
    const parent = path.posix.dirname(own);
    const r = await runScript(t, 'cat /proc/self/cgroup', (c) => {
      c.linux!.cgroupsPath = `podrun-test.slice:cri-containerd:${id}`; // what containerd sends for CgroupParent /podrun-test.slice
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`^0::${parent === '/' ? '' : parent}/podrun-test\\.slice:cri-containerd:${id}$`, 'm'));
    t.notOk(existsSync(path.join('/sys/fs/cgroup/unified', parent, `podrun-test.slice:cri-containerd:${id}`)), 'removed afterwards');
  });

  t.test('resource limits: enforced where this host can (hugetlb), reported per limit where not', async (t) => {
    const offered = (await import('node:fs')).readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8');
    const resources = { memory: { limit: 1 << 26 }, pids: { limit: 10 }, hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] };
    const r = await runScript(t, 'cat /sys/fs/cgroup/hugetlb.2MB.max 2>&1', (c) => (c.linux!.resources = resources));
    t.equal(r.code, 0, r.stderr);
    if (offered.includes('hugetlb')) t.equal(r.stdout, '4194304\n', 'hugetlb.2MB.max written in the container cgroup');
    if (!offered.includes('memory')) t.match(r.stderr, /warning: linux\.resources\.memory\.limit: not enforced: this host's cgroup v2 offers no memory controller here/);
    if (!offered.includes('pids')) t.match(r.stderr, /warning: linux\.resources\.pids\.limit: not enforced: this host's cgroup v2 offers no pids controller here/);
    if (!offered.includes('memory')) {
      const before = await snapshotHost();
      const { makeBundle } = await import('../helpers');
      const b = await makeBundle(t, 'echo ran', (c) => (c.linux!.resources = resources));
      const strict = await podrunRun(b, undefined, ['--strict-limits']);
      t.equal(strict.code, 1);
      t.equal(strict.stdout, '');
      t.match(strict.stderr, /limits this host cannot enforce \(strict limits\):\n\s+linux\.resources\.memory\.limit/);
      t.same(await snapshotHost(), before, 'a refused start leaves nothing');
    }
  });
}
