/** Attacks on isolation, as a pod author or a container process would make
 * them (issue "Isolation holds"; docs/security.md lists what each proves):
 * racing the processes that enter a container for host fds and executables,
 * a working directory through /proc/self/fd, subPath through planted
 * symlinks, and container ids that are paths. Every test here failed on the
 * code before its defence. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { execInPod, Podrun } from '../../src';
import { makeBundle, podEnv, podrunBin, repoRoot, runCmd, snapshotHost, uniqueId, waitFor } from '../helpers';

async function env(t: Test) {
  const { podrun, manifest, dataRoot, runRoot } = await podEnv(t);
  // a file that exists only on the host: an attacker who can test for it has reached the host's root
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-isolation-'));
  fs.writeFileSync(path.join(hostDir, 'marker'), 'host\n');
  t.teardown(() => fs.rmSync(hostDir, { recursive: true, force: true })); // after the pods are gone
  const marker = path.join(hostDir, 'marker').slice(1);
  // the host executables that launch into containers, as the scanner sees them through /proc/PID/exe
  const hostExes = [process.execPath, path.join(repoRoot, 'build', 'Release', 'podrun-monitor')]
    .map((f) => fs.statSync(f)).map((s) => `${s.dev}:${s.ino}`).join(',');
  return { podrun, manifest, dataRoot, runRoot, hostDir, marker, hostExes };
}

/** test/support/proc-scanner.c, built static into dir */
async function buildScanner(dir: string): Promise<void> {
  const cc = await runCmd('cc', ['-static', '-O2', '-Wall', '-o', path.join(dir, 'proc-scanner'), path.join(repoRoot, 'test', 'support', 'proc-scanner.c')]);
  if (cc.code !== 0) throw new Error(`building the scanner: ${cc.stderr}`);
}

const RACES = 200;

for (const variant of [
  { name: 'shared', share: true, caps: '[SYS_PTRACE]', target: 'victim', what: 'a shared PID namespace, the attacker holding SYS_PTRACE', userns: false },
  { name: 'own', share: false, caps: '[]', target: 'attacker', what: 'the attacker\'s own PID namespace, default capabilities', userns: false },
  // the same attacks from a pod whose root is not the host's (issue "User namespaces"): no hostPath there, so the
  // scanner is copied in through the library
  { name: 'userns', share: true, caps: '[SYS_PTRACE]', target: 'victim', what: 'hostUsers: false, a shared PID namespace, the attacker holding SYS_PTRACE', userns: true },
]) {
  t.test(`processes entering a pod hold no host fd and no writable host executable (${RACES} execs, restarts; ${variant.what})`, async (t) => {
    const before = await snapshotHost();
    const { podrun, manifest, runRoot, dataRoot, hostDir, marker, hostExes } = await env(t);
    await buildScanner(hostDir);
    if (!variant.userns) fs.writeFileSync(path.join(hostDir, 'copied'), ''); // on the hostPath already
    const pod = `
apiVersion: v1
kind: Pod
metadata: { name: ${variant.name} }
spec:
  shareProcessNamespace: ${variant.share}
  hostUsers: ${!variant.userns}
  terminationGracePeriodSeconds: 0
  volumes: [{ name: tools, ${variant.userns ? 'emptyDir: {}' : `hostPath: { path: ${hostDir}, type: Directory }`} }, { name: out, emptyDir: {} }]
  containers:
    - name: attacker
      image: localhost/podrun/busybox
      securityContext: { capabilities: { add: ${variant.caps} } }
      volumeMounts: [{ name: tools, mountPath: /tools, readOnly: ${!variant.userns} }, { name: out, mountPath: /out }]
      command: [sh, -c, 'until [ -e /tools/copied ]; do sleep 0.05; done; /tools/proc-scanner ${marker} 120 /out/stop /out/ready ${hostExes} > /out/result 2>&1; echo $? > /out/rc; exec sleep 3600']
    - name: victim
      image: localhost/podrun/busybox
      command: [sleep, '3600']
    - name: crasher
      image: localhost/podrun/busybox
      command: [sh, -c, 'sleep 0.2']
`;
    const start = await podrun('start', '--restart-backoff', '50', manifest(variant.name, pod));
    t.equal(start.code, 0, start.stderr);
    if (variant.userns) {
      const attacker = new Podrun({ root: runRoot, dataRoot }).get(variant.name);
      await attacker.copyTo('/tools/proc-scanner', { path: path.join(hostDir, 'proc-scanner') }, { container: 'attacker' });
      // a flag once it is whole: the scanner's own name may be seen (and exec'd) while tar still writes it
      await attacker.copyTo('/tools/copied', { content: '' }, { container: 'attacker' });
    }
    const inAttacker = (cmd: string) => podrun('exec', variant.name, '-c', 'attacker', '--', 'sh', '-c', cmd);
    await waitFor(async () => (await inAttacker('test -e /out/ready')).code === 0, 'the scanner running', 10_000);
    const opts = { root: runRoot, dataRoot };
    for (let i = 0; i < RACES; i++) {
      const r = await execInPod(variant.name, variant.target, ['true'], opts);
      if (r.status !== 0) t.fail(`exec ${i}: status ${r.status}`);
    }
    await inAttacker('touch /out/stop');
    await waitFor(async () => (await inAttacker('test -e /out/rc')).code === 0, 'the scanner done', 10_000);
    const result = (await inAttacker('cat /out/result')).stdout;
    t.notMatch(result, /FOUND/, 'the attacker found nothing');
    t.equal((await inAttacker('cat /out/rc')).stdout, '0\n', result);
    const m = /scans=(\d+) foreign=(\d+)/.exec(result);
    t.ok(m && Number(m[1]) > 100, `it scanned /proc many times (${m?.[1]})`);
    // most, not all: a `true` may come and go between two scans of a loaded machine
    t.ok(m && Number(m[2]) >= RACES / 2, `and saw the processes that came in (${m?.[2]} of ${RACES})`);
    const restarts = JSON.parse((await podrun('inspect', variant.name)).stdout).status.containerStatuses.find((c: { name: string }) => c.name === 'crasher').restartCount as number;
    t.ok(restarts > 0, `the crasher was restarted meanwhile (${restarts})`);
    if (variant.share) {
      const init = (await inAttacker('ls -l /proc/1/exe; ls /proc/1/root | wc -l; ls /proc/1/fd | wc -l; grep CapEff /proc/1/status; cat /proc/1/cmdline | tr "\\0" " "')).stdout;
      t.match(init, /\/proc\/1\/exe -> \/podrun-monitor\n0\n0\nCapEff:\s+0+\npodrun-pod-init --pod-init-reap $/, 'pid 1: a sealed executable, an empty root, no fds, no capabilities');
      t.match((await inAttacker('echo x >> /proc/1/exe')).stderr, /Read-only file system/, 'its executable cannot be written');
    }
    t.equal((await podrun('rm', '-f', variant.name)).code, 0);
    t.same(await snapshotHost(), before);
  });
}

t.test('workingDir / process.cwd through /proc/self/fd/N is refused for a pod, `oci run` and `oci exec`', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, runRoot } = await env(t);
  // a user-namespaced pod's launch holds more of the host until it has pivoted (its rootfs as cwd, bind sources as
  // detached mounts): none of it is reachable as a working directory either
  for (const [prefix, userns] of [['cwd', false], ['ucwd', true]] as const) {
    for (const fd of [3, 4, 5, 6, 7, 8, 9, 10]) {
      const name = `${prefix}${fd}`;
      const pod = `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: Never
  hostUsers: ${!userns}
  volumes: [{ name: v, emptyDir: {} }]
  containers:
    - { name: c, image: localhost/podrun/busybox, workingDir: /proc/self/fd/${fd}, command: [sh, -c, 'pwd; ls ..; sleep 3600'], volumeMounts: [{ name: v, mountPath: /v }] }
`;
      const r = await podrun('start', manifest(name, pod));
      const logs = r.code === 0 ? (await podrun('logs', name)).stdout : '';
      t.not(r.code, 0, `${name}: refused (${logs.trim()})`);
      t.match(r.stderr, /spec\.containers\[0\]\.workingDir|process\.cwd/, `${name}: the field is named: ${r.stderr.trim()}`);
      await podrun('rm', '-f', name);
    }
  }
  // the OCI runtime: run and exec
  const ociRoot = path.join(runRoot, 'oci');
  const oci = (...args: string[]) => runCmd(podrunBin, ['oci', '--root', ociRoot, ...args]);
  const bundle = await makeBundle(t, 'pwd', (c) => {
    c.process!.cwd = '/proc/self/fd/4';
  });
  const run = await oci('run', '--bundle', bundle, uniqueId());
  t.not(run.code, 0, `oci run refused: ${run.stdout}`);
  t.match(run.stderr, /process\.cwd/);
  const sleeper = await makeBundle(t, 'exec sleep 3600 </dev/null >/dev/null 2>&1'); // lets go of our pipes
  const id = uniqueId();
  t.equal((await oci('run', '--detach', '--bundle', sleeper, id)).code, 0);
  for (const fd of [3, 4, 5, 6]) {
    const ex = await oci('exec', '--cwd', `/proc/self/fd/${fd}`, id, 'pwd');
    t.not(ex.code, 0, `oci exec --cwd /proc/self/fd/${fd} refused (${ex.stdout.trim()})`);
  }
  await oci('delete', '-f', id);
  t.same(await snapshotHost(), before);
});

for (const userns of [false, true]) {
t.test(`subPath never leaves its volume: absolute, relative and swapped symlinks planted by the pod${userns ? ' (hostUsers: false: the subPath is resolved before the launch joins its user namespace)' : ''}`, async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, hostDir, marker } = await env(t);
  const pod = (name: string, sub: string, plant: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: Never
  hostUsers: ${!userns}
  volumes: [{ name: vol, emptyDir: {} }]
  initContainers:
    - { name: plant, image: localhost/podrun/busybox, command: [sh, -c, '${plant}'], volumeMounts: [{ name: vol, mountPath: /vol }] }
  containers:
    - name: c
      image: localhost/podrun/busybox
      command: [sh, -c, 'if [ -e /m/${marker} ]; then echo ESCAPED; else echo inside; fi; ls /m; sleep 3600']
      volumeMounts: [{ name: vol, mountPath: /m, subPath: ${sub} }]
`;
  const cases: Array<[string, string, string]> = [
    ['abs', 'x', 'ln -s / /vol/x'],
    ['rel', 'x', 'ln -s ../../../../../../../../.. /vol/x'],
    ['deep', 'a/b', 'mkdir /vol/a; ln -s / /vol/a/b'],
    ['mid', 'a/etc', 'ln -s / /vol/a'],
    ['proc', 'x', 'ln -s /proc/self/root /vol/x'],
  ];
  for (const [name, sub, plant] of cases) {
    const r = await podrun('start', manifest(name, pod(name, sub, plant)));
    const logs = r.code === 0 ? (await podrun('logs', name, '-c', 'c')).stdout : '';
    t.not(r.code, 0, `${name}: refused (${logs.trim()})`);
    t.match(r.stderr, /spec\.containers\[0\]\.volumeMounts\[0\]\.subPath|subPath/, `${name}: ${r.stderr.trim()}`);
    t.notMatch(logs, /ESCAPED/);
    await podrun('rm', '-f', name);
  }
  // inside the volume symlinks are fine, and a missing subPath is made (kubelet does both)
  t.equal((await podrun('start', manifest('ok', pod('ok', 'link', 'mkdir -p /vol/real/d; echo hi > /vol/real/d/f; ln -s real /vol/link')))).code, 0);
  await waitFor(async () => /inside/.test((await podrun('logs', 'ok', '-c', 'c')).stdout), 'the container up');
  t.match((await podrun('logs', 'ok', '-c', 'c')).stdout, /^inside\nd\n$/);
  t.equal((await podrun('start', manifest('made', pod('made', 'new/dir', 'true')))).code, 0);
  await waitFor(async () => /inside/.test((await podrun('logs', 'made', '-c', 'c')).stdout), 'the container up');

  // swapped: a container flips a hostPath entry between a directory and a symlink to / while pods mount it
  // (hostPath: not for hostUsers: false pods; the victims are the host's-ids pods of the other variant)
  if (userns) {
    for (const p of ['ok', 'made']) await podrun('rm', '-f', p);
    t.same(await snapshotHost(), before);
    return;
  }
  const shared = path.join(hostDir, 'shared');
  fs.mkdirSync(shared);
  const flipper = `
apiVersion: v1
kind: Pod
metadata: { name: flipper }
spec:
  volumes: [{ name: h, hostPath: { path: ${shared} } }]
  containers:
    - { name: f, image: localhost/podrun/busybox, volumeMounts: [{ name: h, mountPath: /h }],
        command: [sh, -c, 'while true; do mkdir -p /h/s; rmdir /h/s; ln -s / /h/s; rm /h/s; done'] }
`;
  t.equal((await podrun('start', manifest('flipper', flipper))).code, 0);
  const victim = (i: number) => `
apiVersion: v1
kind: Pod
metadata: { name: v${i} }
spec:
  restartPolicy: Never
  volumes: [{ name: h, hostPath: { path: ${shared} } }]
  containers:
    - { name: c, image: localhost/podrun/busybox, volumeMounts: [{ name: h, mountPath: /m, subPath: s }],
        command: [sh, -c, 'if [ -e /m/${marker} ]; then echo ESCAPED; else echo inside; fi'] }
`;
  let started = 0;
  for (let i = 0; i < 20; i++) {
    const r = await podrun('start', '--wait', '--rm', manifest(`v${i}`, victim(i)));
    if (r.code === 0) started++;
    t.notMatch(r.stdout, /ESCAPED/, `v${i}: ${r.stdout.trim() || r.stderr.trim()}`);
    await podrun('rm', '-f', `v${i}`);
  }
  t.comment(`${started} of 20 swapped mounts started (the others were refused mid-swap)`);
  for (const p of ['ok', 'made', 'flipper']) await podrun('rm', '-f', p);
  t.same(await snapshotHost(), before);
});
}

t.test('container ids that are paths are refused by every podrun-oci command, and nothing is touched', async (t) => {
  const { runRoot } = await env(t);
  const root = path.join(runRoot, 'a', 'b');
  fs.mkdirSync(root, { recursive: true });
  const victim = path.join(runRoot, 'victim');
  fs.mkdirSync(path.join(victim, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(victim, 'sub', 'f'), 'keep');
  const ociBin = path.join(repoRoot, 'bin', 'podrun-oci');
  for (const id of ['../../victim', '../../../victim/sub', '..', '.', '', 'a/b', '/etc']) {
    for (const cmd of [['delete'], ['delete', '-f'], ['delete', '--force'], ['state'], ['kill'], ['start'], ['pause'], ['resume'], ['ps'], ['exec'], ['events'], ['create', '--bundle', runRoot], ['run', '--bundle', runRoot]]) {
      const r = await runCmd(ociBin, ['--root', root, ...cmd, id, ...(cmd[0] === 'exec' ? ['true'] : [])]);
      t.equal(r.code, 1, `${cmd.join(' ')} ${JSON.stringify(id)}: exit 1`);
      t.match(r.stderr, /invalid container ID format/, `${cmd.join(' ')} ${JSON.stringify(id)}: ${r.stderr.trim()}`);
    }
  }
  t.equal(fs.readFileSync(path.join(victim, 'sub', 'f'), 'utf8'), 'keep', 'nothing was deleted');
  t.same(fs.readdirSync(root), [], 'nothing was made');
});

t.test('bounded by default: a memory emptyDir without sizeLimit is as large as the pod\'s memory limit; hostPath types are checked', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, hostDir } = await env(t);
  for (const hostUsers of [true, false]) {
    const pod = `
apiVersion: v1
kind: Pod
metadata: { name: mem }
spec:
  hostUsers: ${hostUsers}
  volumes: [{ name: m, emptyDir: { medium: Memory } }]
  containers:
    - { name: a, image: localhost/podrun/busybox, command: [sleep, '3600'], resources: { limits: { memory: 48Mi } }, volumeMounts: [{ name: m, mountPath: /m }] }
    - { name: b, image: localhost/podrun/busybox, command: [sleep, '3600'], resources: { limits: { memory: 16Mi } } }
`;
    const r = await podrun('start', manifest('mem', pod));
    t.equal(r.code, 0, r.stderr);
    t.match((await podrun('exec', 'mem', '-c', 'a', '--', 'df', '-k', '/m')).stdout, /\s65536\s+0\s+65536\s+0% \/m\n/, `64 MiB: the sum of the limits (hostUsers: ${hostUsers})`);
    // the pod's root (its own, with hostUsers: false) cannot lift the bound: a tmpfs remount needs CAP_SYS_ADMIN over the mount
    const grow = await podrun('exec', 'mem', '-c', 'a', '--', 'sh', '-c', 'mount -o remount,size=1g /m; df -k /m');
    t.match(grow.stdout, /\s65536\s+0\s+65536\s+0% \/m\n/, `still 64 MiB after the pod's root tried to remount it larger (hostUsers: ${hostUsers})`);
    t.equal((await podrun('rm', '-f', 'mem')).code, 0);
  }
  const typed = (type: string, p: string) => `
apiVersion: v1
kind: Pod
metadata: { name: hp }
spec:
  restartPolicy: Never
  volumes: [{ name: h, hostPath: { path: ${p}, type: ${type} } }]
  containers: [{ name: c, image: localhost/podrun/busybox, command: ['true'], volumeMounts: [{ name: h, mountPath: /h }] }]
`;
  const file = path.join(hostDir, 'marker');
  for (const [type, p, want] of [['Directory', file, /spec\.volumes\[0\]\.hostPath\.type: .*marker is not a directory \(type Directory\)/], ['File', hostDir, /is not a file \(type File\)/],
    ['Socket', file, /is not a socket/], ['Directory', path.join(hostDir, 'none'), /spec\.volumes\[0\]\.hostPath\.path: .*none does not exist/]] as const) {
    const bad = await podrun('start', manifest('hp', typed(type, p)));
    t.equal(bad.code, 1, `${type} ${p}: refused`);
    t.match(bad.stderr, want);
  }
  for (const [type, p] of [['DirectoryOrCreate', path.join(hostDir, 'made/dir')], ['FileOrCreate', path.join(hostDir, 'made-file')]] as const) {
    const ok = await podrun('start', '--wait', '--rm', manifest('hp', typed(type, p)));
    t.equal(ok.code, 0, `${type}: ${ok.stderr}`);
    t.ok(type === 'FileOrCreate' ? fs.statSync(p).isFile() : fs.statSync(p).isDirectory(), `${type} made it`);
  }
  t.same(await snapshotHost(), before);
});

t.test('a read-only hostPath with a mount below it: recursiveReadOnly makes that mount read-only too, and the pod\'s root cannot undo it', async (t) => {
  const { podrun, manifest, hostDir } = await env(t);
  // what a node has below a directory it hands to pods read-only: another mount (a tmpfs here)
  const vol = path.join(hostDir, 'vol');
  fs.mkdirSync(path.join(vol, 'sub'), { recursive: true });
  t.equal((await runCmd('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(vol, 'sub')])).code, 0);
  let mounted = true;
  t.teardown(async () => void (mounted && (await runCmd('umount', ['-l', path.join(vol, 'sub')]))));
  const before = await snapshotHost();
  for (const hostUsers of [true, false]) {
    const pod = `
apiVersion: v1
kind: Pod
metadata: { name: rro }
spec:
  hostUsers: ${hostUsers}
  volumes: [{ name: h, hostPath: { path: ${vol}, type: Directory } }]
  containers:
    - { name: plain, image: localhost/podrun/busybox, command: [sleep, '3600'], volumeMounts: [{ name: h, mountPath: /h, readOnly: true }] }
    - { name: rec, image: localhost/podrun/busybox, command: [sleep, '3600'], volumeMounts: [{ name: h, mountPath: /h, readOnly: true, recursiveReadOnly: Enabled }] }
`;
    const r = await podrun('start', manifest('rro', pod));
    t.equal(r.code, 0, r.stderr);
    const sh = (c: string, script: string) => podrun('exec', 'rro', '-c', c, '--', 'sh', '-c', script);
    t.match((await sh('plain', 'touch /h/sub/p && echo wrote')).stdout, /^wrote$/m, `readOnly alone: the submount is writable, as in Kubernetes (hostUsers: ${hostUsers})`);
    t.match((await sh('rec', 'touch /h/x 2>&1; touch /h/sub/r 2>&1')).stdout, /\/h\/x: Read-only file system\n.*\/h\/sub\/r: Read-only file system/);
    // the pod's root (default capabilities) cannot remount it writable (with CAP_SYS_ADMIN over the host's user
    // namespace no read-only mount holds, in Kubernetes either)
    const undo = await sh('rec', `mount -o remount,rw /h/sub 2>&1; mount -o remount,bind,rw /h/sub 2>&1; touch /h/sub/undone-${hostUsers} 2>&1; echo end`);
    t.match(undo.stdout, /Read-only file system\nend/);
    t.notOk(fs.existsSync(path.join(vol, 'sub', `undone-${hostUsers}`)), `nothing written through the remount attempts (hostUsers: ${hostUsers})`);
    t.equal((await podrun('rm', '-f', 'rro')).code, 0);
  }
  fs.writeFileSync(path.join(vol, 'sub', 'host-still-rw'), 'x'); // the host's own mount was never touched
  t.same(await snapshotHost(), before);
  t.equal((await runCmd('umount', [path.join(vol, 'sub')])).code, 0, 'nothing of the pods keeps the host\'s tmpfs busy');
  mounted = false;
});

t.test('a disk emptyDir over its sizeLimit gets its pod evicted, as kubelet does', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const pod = `
apiVersion: v1
kind: Pod
metadata: { name: du }
spec:
  volumes: [{ name: scratch, emptyDir: { sizeLimit: 1Mi } }]
  containers:
    - { name: filler, image: localhost/podrun/busybox, command: [sh, -c, 'head -c 524288 /dev/urandom > /s/half; sleep 3600'], volumeMounts: [{ name: scratch, mountPath: /s }] }
`;
  t.equal((await podrun('start', manifest('du', pod))).code, 0);
  const status = async () => (JSON.parse((await podrun('inspect', 'du')).stdout) as { status: { phase: string; reason?: string; message?: string } }).status;
  await new Promise((r) => setTimeout(r, 1500));
  t.equal((await status()).phase, 'Running', 'under its limit: left alone');
  t.equal((await podrun('exec', 'du', '--', 'sh', '-c', 'head -c 2097152 /dev/urandom > /s/more')).code, 0);
  await waitFor(async () => (await status()).phase === 'Failed', 'evicted within the eviction manager\'s period', 25_000);
  t.match(await status(), { reason: 'Evicted', message: 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".' });
  t.equal((await podrun('rm', 'du')).code, 0, 'nothing of it runs any more');
  t.same(await snapshotHost(), before);
});

for (const hostUsers of [true, false]) {
t.test(`bounded by default: a 100 MB logger leaves at most containerLogMaxSize × containerLogMaxFiles on disk, and \`logs\` streams it (hostUsers: ${hostUsers})`, async (t) => {
  const { podrun, manifest, runRoot, dataRoot } = await env(t);
  // 1,000,000 numbered lines of 100 bytes, as fast as the container can write them
  const pod = `
apiVersion: v1
kind: Pod
metadata: { name: loud }
spec:
  restartPolicy: Never
  hostUsers: ${hostUsers}
  containers:
    - name: c
      image: localhost/podrun/busybox
      command: [awk, 'BEGIN { pad = sprintf("%90s", ""); gsub(/ /, "x", pad); for (i = 1; i <= 1000000; i++) printf "%08d %s\\n", i, pad }']
`;
  const r = await podrun('start', manifest('loud', pod));
  t.equal(r.code, 0, r.stderr);
  const id = r.stdout.split(' ')[1];
  const logs = path.join(runRoot, 'pods', id, 'logs');
  const limit = 10 * 1024 * 1024; // kubelet's defaults: 10Mi, 5 files
  let most = 0;
  let largestFile = 0;
  let mostFiles = 0;
  // sampled while it writes: the bound holds all along, not only at the end
  await waitFor(async () => {
    // a rotated file the monitor removed between readdir and stat is no longer on disk: not counted
    const files = fs.readdirSync(logs).flatMap((f) => fs.statSync(path.join(logs, f), { throwIfNoEntry: false })?.size ?? []);
    most = Math.max(most, files.reduce((a, b) => a + b, 0));
    largestFile = Math.max(largestFile, ...files);
    mostFiles = Math.max(mostFiles, files.length);
    return JSON.parse((await podrun('inspect', 'loud')).stdout).status.phase === 'Succeeded';
  }, 'the logger to finish', 120_000);
  t.ok(most <= 5 * limit, `at most 5 × 10Mi on disk (largest total seen ${most})`);
  t.ok(largestFile <= limit, `no file above 10Mi (largest ${largestFile})`);
  t.ok(mostFiles <= 5 && mostFiles >= 5, `5 files once rotated (most seen ${mostFiles})`);
  // > 140 MB were written: what is kept is the newest, and `logs` reads it as one run, in order, in bounded memory
  const out = path.join(runRoot, 'loud.out');
  const measure = await runCmd('python3', ['-c',
    'import resource,subprocess,sys; rc = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w")).returncode; print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)',
    out, podrunBin, '--data-root', dataRoot, '--runroot', runRoot, 'logs', 'loud']);
  t.equal(measure.code, 0, measure.stderr);
  const [rc, maxRssKiB] = measure.stdout.trim().split(' ').map(Number);
  t.equal(rc, 0, 'podrun logs succeeded');
  const text = fs.readFileSync(out, 'utf8');
  fs.rmSync(out);
  const numbers = text.trimEnd().split('\n').map((l) => Number(l.slice(0, 8)));
  t.equal(numbers[numbers.length - 1], 1_000_000, 'ends with the last line written');
  t.ok(numbers.length > 300_000, `the kept tail: ${numbers.length} lines`);
  t.ok(numbers.every((n, i) => i === 0 || n === numbers[i - 1] + 1), 'contiguous: no line lost or repeated across the rotated files');
  // the whole kept log is ~50 MB; reading it whole made the reader's memory 4× that (833 MB for a 200 MB log)
  t.ok(maxRssKiB < 140 * 1024, `podrun logs peak RSS ${Math.round(maxRssKiB / 1024)} MiB for ${Math.round(most / 1048576)} MiB of log`);
});
}

for (const userns of [false, true]) {
  t.test(`a seccomp profile that denies close_range does not leak the launcher's socket into the container${userns ? ' (in a user namespace of its own)' : ''}`, async (t) => {
    // the fd hygiene ran after the filter and failed silently under runtime-tools' default profile:
    // the sync socket to podrun-monitor stayed open in the container (and held `start` until it exited)
    const before = await snapshotHost();
    const bundle = await makeBundle(t, 'ls /proc/self/fd/', (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
      c.process!.noNewPrivileges = false; // the filter is then installed early, while podrun still holds CAP_SYS_ADMIN
      if (userns) {
        // the launch holds more across a user namespace's set-up (the maps are written by its parent)
        c.linux!.namespaces!.push({ type: 'user' });
        c.linux!.uidMappings = [{ containerID: 0, hostID: 0x90000000, size: 65536 }];
        c.linux!.gidMappings = [{ containerID: 0, hostID: 0x90000000, size: 65536 }];
      }
    });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-fds-'));
    t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
    const out = path.join(root, 'out');
    const id = uniqueId('fds');
    const oci = path.join(repoRoot, 'bin', 'podrun-oci');
    const create = await runCmd('sh', ['-c', `${oci} --root ${root}/state create --bundle ${bundle} ${id} </dev/null >${out} 2>&1`]);
    t.equal(create.code, 0, create.stderr);
    t.equal((await runCmd(oci, ['--root', `${root}/state`, 'start', id])).code, 0);
    await waitFor(async () => JSON.parse((await runCmd(oci, ['--root', `${root}/state`, 'state', id])).stdout).status === 'stopped', 'exit');
    t.equal(fs.readFileSync(out, 'utf8'), '0\n1\n2\n3\n', 'stdio and ls\'s own directory fd, nothing of the launcher');
    t.equal((await runCmd(oci, ['--root', `${root}/state`, 'delete', id])).code, 0);
    t.same(await snapshotHost(), before);
  });
}
