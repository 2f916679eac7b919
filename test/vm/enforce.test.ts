/** cgroup v2 enforcement, run by scripts/vm-lane.sh inside a VM whose
 * cgroup2 root offers every controller (this host's does not): limits from
 * linux.resources must really bite, and podrun must say so. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { fixtures, makeBundle, podrunBin, podrunRun, runCmd } from '../helpers';

if (!process.env.PODRUN_VM) {
  t.plan(0, 'runs only inside the VM lane (npm run test:vm)');
} else {
  t.test('the VM offers the controllers', async (t) => {
    const have = fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8');
    for (const c of ['cpu', 'cpuset', 'memory', 'pids', 'io']) t.match(have, new RegExp(`\\b${c}\\b`), c);
  });

  t.test('memory.max: a hog is OOM-killed and reported', async (t) => {
    // a shell string that doubles until it cannot: anonymous memory, fast
    const bundle = await makeBundle(t, 'cat /sys/fs/cgroup/memory.max; x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done; echo survived', (c) => {
      c.linux!.resources = { memory: { limit: 32 << 20, swap: 32 << 20 } };
    });
    const r = await podrunRun(bundle);
    t.match(r.stdout, /^33554432\n/, 'memory.max is 32 MiB inside the container');
    t.notMatch(r.stdout, /survived/);
    t.equal(r.code, 137, 'killed by SIGKILL');
    t.match(r.stderr, /was OOM-killed \(its memory limit was reached\)/, r.stderr);
    t.notMatch(r.stderr, /not enforced/, 'nothing reported as unenforced');
    t.comment(`memory: exit ${r.code}, stderr: ${r.stderr.trim()}`);
  });

  t.test('pids.max: fork fails past the limit', async (t) => {
    const bundle = await makeBundle(t, 'cat /sys/fs/cgroup/pids.max; for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; wait; echo done', (c) => {
      c.linux!.resources = { pids: { limit: 5 } };
    });
    const r = await podrunRun(bundle);
    t.match(r.stdout, /^5\n/);
    t.match(r.stderr, /can't fork|Resource temporarily unavailable/, 'fork refused');
    t.comment(`pids: ${r.stderr.split('\n').filter((l) => /fork|unavailable/.test(l)).length} refused forks`);
  });

  t.test('cpu.max: a busy loop is throttled', async (t) => {
    const bundle = await makeBundle(t, "cat /sys/fs/cgroup/cpu.max; timeout 2 sh -c 'while :; do :; done'; cat /sys/fs/cgroup/cpu.stat", (c) => {
      c.linux!.resources = { cpu: { quota: 10000, period: 100000, shares: 512 } };
    });
    const r = await podrunRun(bundle);
    t.match(r.stdout, /^10000 100000\n/);
    const stat = Object.fromEntries(r.stdout.split('\n').map((l) => l.split(' ')).filter((p) => p.length === 2).map(([k, v]) => [k, Number(v)]));
    t.ok(stat.nr_throttled > 0, `nr_throttled ${stat.nr_throttled}`);
    t.ok(stat.throttled_usec > 500_000, `throttled ${stat.throttled_usec} µs in 2 s at 10%`);
    t.ok(stat.usage_usec < 600_000, `used ${stat.usage_usec} µs of CPU in 2 s`);
    t.comment(`cpu: usage ${stat.usage_usec} µs, throttled ${stat.throttled_usec} µs over ${stat.nr_throttled} periods`);
  });

  t.test('io.max, io.weight and cpuset are written', async (t) => {
    const [maj, min] = fs.readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number);
    const bundle = await makeBundle(t, 'cat /sys/fs/cgroup/io.max /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/cpuset.mems /sys/fs/cgroup/cpu.weight', (c) => {
      c.linux!.resources = {
        blockIO: { weight: 500, throttleWriteBpsDevice: [{ major: maj, minor: min, rate: 2 << 20 }] },
        cpu: { cpus: '1', mems: '0', shares: 1024 },
      };
    });
    const r = await podrunRun(bundle);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`^${maj}:${min} rbps=max wbps=2097152 riops=max wiops=max\\n1\\n0\\n\\d+\\n$`));
    t.comment(`io/cpuset: ${r.stdout.trim().replace(/\n/g, ' | ')}`);
  });

  t.test('a pod: limits summed on the pod cgroup, a container over its memory limit is OOMKilled in its status', async (t) => {
    // overlayfs wants a real upper filesystem, not the VM's overlay root: the store goes on a tmpfs
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-vm-pod-'));
    await runCmd('mount', ['-t', 'tmpfs', 'tmpfs', dir]);
    const podrun = (...a: string[]) => runCmd(podrunBin, ['--data-root', path.join(dir, 'data'), '--runroot', path.join(dir, 'run'), ...a]);
    t.teardown(async () => {
      await podrun('rm', '-f', 'hog');
      await runCmd('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const fx = await fixtures();
    t.equal((await podrun('load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip'])).code, 0);
    fs.writeFileSync(path.join(dir, 'hog.yaml'), `
apiVersion: v1
kind: Pod
metadata: { name: hog }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - name: hog
      image: localhost/podrun/busybox
      command: [sh, -c, 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done']
      resources: { limits: { memory: 32Mi, cpu: 500m } }
    - name: calm
      image: localhost/podrun/busybox
      command: [sleep, '60']
      resources: { requests: { memory: 32Mi }, limits: { memory: 64Mi, cpu: 250m } }
`);
    const r = await podrun('start', '--memory-qos', path.join(dir, 'hog.yaml'));
    t.equal(r.code, 0, r.stderr);
    t.notMatch(r.stderr, /not enforced/, 'every limit enforced here');
    const id = /hog ([0-9a-f]{12})/.exec(r.stdout)?.[1];
    const pod = `/sys/fs/cgroup/podrun.slice/pod-${id}`;
    t.equal(fs.readFileSync(`${pod}/memory.max`, 'utf8').trim(), String(96 << 20), 'pod memory.max = 32Mi + 64Mi');
    t.equal(fs.readFileSync(`${pod}/cpu.max`, 'utf8').trim(), '75000 100000', 'pod cpu.max = 500m + 250m');
    t.equal(fs.readFileSync(`${pod}/ctr-hog/memory.max`, 'utf8').trim(), String(32 << 20));
    // --memory-qos (kubelet's MemoryQoS): memory.min protects requests, memory.high throttles below the limit
    t.equal(fs.readFileSync(`${pod}/memory.min`, 'utf8').trim(), String(64 << 20), 'pod memory.min = 32Mi + 32Mi requested');
    t.equal(fs.readFileSync(`${pod}/ctr-calm/memory.min`, 'utf8').trim(), String(32 << 20));
    t.equal(fs.readFileSync(`${pod}/ctr-calm/memory.high`, 'utf8').trim(), String(Math.floor(((32 << 20) + 0.9 * (32 << 20)) / 4096) * 4096), 'memory.high 90% of the way to the limit');
    t.equal(fs.readFileSync(`${pod}/ctr-hog/memory.high`, 'utf8').trim(), 'max', 'Guaranteed: no memory.high');
    let st: { status: { phase: string; containerStatuses: Array<{ name: string; state: { terminated?: { reason: string; exitCode: number } } }> } } | undefined;
    for (let i = 0; i < 300; i++) {
      st = JSON.parse((await podrun('inspect', 'hog')).stdout);
      if (st?.status.containerStatuses[0].state.terminated) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    t.match(st?.status.containerStatuses[0].state, { terminated: { reason: 'OOMKilled', exitCode: 137 } }, 'OOMKilled in the container status');
    t.ok('running' in (st?.status.containerStatuses[1].state ?? {}), 'the other container runs on');
    t.comment(`pod: memory.max ${96 << 20}, cpu.max 75000 100000; hog ${JSON.stringify(st?.status.containerStatuses[0].state)}`);
  });
}
