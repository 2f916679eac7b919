/** Pods with their own user namespace (`spec.hostUsers: false`, issue 20), as root: the pod's ids 0–65535 are a
 * range of host ids of its own, image layers are seen through idmapped mounts (never chowned), what podrun makes
 * for the pod belongs to its root — and that root, tried as an attacker would, cannot act on host files as host
 * root can. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { podEnv, podrunBin, runCmd, snapshotHost, waitFor } from '../helpers';
import { shiftedCopy } from '../../src/image/id-shift';
import { nativeFs } from '../../src/native';

const pod = (name: string, extra = '', container = '[sh, -c, "echo up; exec sleep 300"]') => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  hostUsers: false
  terminationGracePeriodSeconds: 0
  volumes: [{ name: scratch, emptyDir: {} }]
  containers:
    - name: main
      image: localhost/podrun/busybox
      command: ${container}
      volumeMounts: [{ name: scratch, mountPath: /scratch }]
${extra}`;

async function env(t: Test) {
  const base = await podEnv(t);
  const inside = async (name: string, cmd: string) => base.podrun('exec', name, '--', 'sh', '-c', cmd);
  const record = (name: string) => {
    const id = fs.readdirSync(path.join(base.runRoot, 'pods')).find((d) => JSON.parse(fs.readFileSync(path.join(base.runRoot, 'pods', d, 'pod.json'), 'utf8')).name === name)!;
    return JSON.parse(fs.readFileSync(path.join(base.runRoot, 'pods', id, 'pod.json'), 'utf8')) as { id: string; dataDir: string; userns?: { uidBase: number; gidBase: number; size: number } };
  };
  return { ...base, inside, record };
}

t.test('a hostUsers: false pod: its root is an unprivileged range of host ids', async (t) => {
  const before = await snapshotHost();
  const e = await env(t);
  const start = await e.podrun('start', await e.manifest('uns', pod('uns')));
  t.equal(start.code, 0, start.stderr);
  const rec = e.record('uns');
  t.ok(rec.userns, 'the record holds its range');
  const { uidBase, gidBase, size } = rec.userns!;
  t.equal(size, 65536);
  t.ok(uidBase >= 0x80000000, `above the host's ids (${uidBase})`);
  t.equal((await e.inside('uns', 'cat /proc/self/uid_map')).stdout.trim().split(/\s+/).join(' '), `0 ${uidBase} 65536`, 'uid 0 inside is the range\'s first id outside');
  t.equal((await e.inside('uns', 'cat /proc/self/gid_map')).stdout.trim().split(/\s+/).join(' '), `0 ${gidBase} 65536`);
  t.equal((await e.inside('uns', 'id -u; id -g')).stdout, '0\n0\n', 'root inside');

  // the image's files, through idmapped layers: owned by the pod's root inside, untouched on the host
  t.equal((await e.inside('uns', 'stat -c %u:%g /bin/busybox /etc/passwd')).stdout, '0:0\n0:0\n', 'layers seen as the pod\'s root\'s');
  const touch = await e.inside('uns', 'touch /new-in-root && echo data > /scratch/written && mkdir /scratch/d && chown 1000:1000 /scratch/d && echo ok');
  t.equal(touch.stdout, 'ok\n', `its root writes its / and its volume, and chowns there: ${touch.stderr}`);
  const upper = path.join(rec.dataDir, 'containers', 'main', 'upper');
  t.equal(fs.statSync(path.join(upper, 'new-in-root')).uid, uidBase, 'a file it made in / is the range\'s on the host');
  const vol = path.join(rec.dataDir, 'volumes', 'scratch');
  t.same([fs.statSync(path.join(vol, 'written')).uid, fs.statSync(path.join(vol, 'written')).gid], [uidBase, gidBase], 'a file it wrote on the emptyDir is owned by the mapped id on the host');
  t.same([fs.statSync(path.join(vol, 'd')).uid, fs.statSync(path.join(vol, 'd')).gid], [uidBase + 1000, gidBase + 1000], 'uid 1000 inside is base+1000 outside');
  t.equal(fs.statSync('/work/main/package.json', { throwIfNoEntry: false })?.uid ?? 0, fs.statSync('/work/main/package.json', { throwIfNoEntry: false })?.uid ?? 0);

  // host root's directory and file, put where the pod can see them: host root could change them; the pod's root cannot
  const hostDir = path.join(vol, 'host-dir');
  fs.mkdirSync(hostDir, { mode: 0o755 });
  fs.writeFileSync(path.join(hostDir, 'file'), 'host\n', { mode: 0o644 });
  const attack = await e.inside('uns', 'cd /scratch/host-dir; echo pwned > file; chown 0:0 file; chmod 777 file; rm -f file; touch new; chmod 777 .; stat -c %U:%G . file');
  t.equal(fs.readFileSync(path.join(hostDir, 'file'), 'utf8'), 'host\n', 'not written, not removed');
  t.equal(fs.statSync(path.join(hostDir, 'file')).mode & 0o777, 0o644, 'not chmodded');
  t.equal(fs.statSync(hostDir).mode & 0o777, 0o755, 'its directory not chmodded');
  t.notOk(fs.existsSync(path.join(hostDir, 'new')), 'nothing created in it');
  t.match(attack.stderr, /Permission denied|Operation not permitted/);
  t.equal(attack.stdout, 'nobody:nogroup\nnobody:nogroup\n', 'the host\'s root shows as nobody inside');
  t.match((await e.inside('uns', 'mknod /tmp/sda b 8 0 2>&1; echo rc=$?')).stdout, /Operation not permitted[\s\S]*rc=1/, 'no device nodes');
  t.match((await e.inside('uns', 'cat /proc/self/status')).stdout, /CapEff:\s+00000000a80425fb/, 'the default capabilities — meaningful only inside');
  const layerFile = fs.readdirSync(path.join(e.dataRoot, 'layers')).map((l) => path.join(e.dataRoot, 'layers', l, 'diff', 'bin', 'busybox')).find((f) => fs.existsSync(f));
  if (layerFile) t.equal(fs.statSync(layerFile).uid, 0, 'the shared layer is not chowned');

  // a second pod: a range of its own
  t.equal((await e.podrun('start', await e.manifest('uns2', pod('uns2')))).code, 0);
  const other = e.record('uns2').userns!;
  t.ok(other.uidBase >= uidBase + size || other.uidBase + other.size <= uidBase, `disjoint ranges (${uidBase}, ${other.uidBase})`);
  t.equal((await e.podrun('rm', '-f', 'uns', 'uns2')).code, 0);
  // freed at rm: the next pod gets the first range again
  t.equal((await e.podrun('start', await e.manifest('uns3', pod('uns3')))).code, 0);
  t.equal(e.record('uns3').userns!.uidBase, uidBase, 'a freed range is used again');
  t.equal((await e.podrun('rm', '-f', 'uns3')).code, 0);
  const after = await snapshotHost();
  t.same(after.mounts, before.mounts, 'no mounts left (idmapped layer views, namespaces)');
  t.same(after.cgroups, before.cgroups);
});

t.test('where the kernel cannot idmap-mount the layers: a copy with owners shifted, said so; the pod sees the same; rm removes it', async (t) => {
  const before = await snapshotHost();
  const e = await env(t);
  // the fallback, chosen: this kernel has idmapped mounts
  const copying = { ...process.env, PODRUN_LAYER_IDMAP: 'copy' };
  const start = await runCmd(podrunBin, ['--data-root', e.dataRoot, '--runroot', e.runRoot, 'start', await e.manifest('copied', pod('copied'))], { env: copying });
  t.equal(start.code, 0, start.stderr);
  t.match(start.stderr, /warning: spec\.hostUsers: false: container main runs on a copy of its image's layers with owners shifted into the pod's ids \(PODRUN_LAYER_IDMAP=copy; idmapped mounts need kernel ≥ 5\.19/);
  const rec = e.record('copied');
  const { uidBase, gidBase } = rec.userns!;
  t.equal((await e.inside('copied', 'stat -c %u:%g /bin/busybox /etc/passwd /home/user; id -u')).stdout, '0:0\n0:0\n1000:1000\n0\n', 'the pod sees the image\'s owners, as through idmapped layers');
  const copy = path.join(rec.dataDir, 'containers', 'main', 'shifted', '0');
  t.same([fs.statSync(path.join(copy, 'bin/busybox')).uid, fs.statSync(path.join(copy, 'home/user')).gid], [uidBase, gidBase + 1000], 'the copy is owned by the range on the host');
  const layers = path.join(e.dataRoot, 'layers');
  const shared = fs.readdirSync(layers).map((d) => path.join(layers, d, 'fs', 'bin', 'busybox')).find((f) => fs.existsSync(f))!;
  t.equal(fs.statSync(shared).uid, 0, 'the shared layer is not chowned');
  t.equal((await e.inside('copied', 'echo x > /bin/new && rm /etc/passwd && echo ok')).stdout, 'ok\n', 'its root writes over the copied layers');
  t.notOk(fs.existsSync(path.join(copy, 'bin/new')), 'writes go to its own layer, not the copy');
  t.ok(fs.existsSync(path.join(copy, 'etc/passwd')), 'a removal is a whiteout above the copy');
  t.equal((await e.podrun('rm', '-f', 'copied')).code, 0);
  t.notOk(fs.existsSync(rec.dataDir), 'rm removes the copy with the pod');
  t.same(await snapshotHost(), before);
});

t.test('a shifted copy keeps what chown would lose: setuid bits, file capabilities (rooted in the range), hard links, whiteouts, opaque marks', async (t) => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-shift-'));
  t.teardown(() => fs.rmSync(top, { recursive: true, force: true }));
  const src = path.join(top, 'layer');
  fs.mkdirSync(path.join(src, 'opaque'), { recursive: true });
  nativeFs().lsetxattr(path.join(src, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
  fs.writeFileSync(path.join(src, 'ping'), 'x');
  fs.chmodSync(path.join(src, 'ping'), 0o4755);
  t.equal((await runCmd('setcap', ['cap_net_raw+ep', path.join(src, 'ping')])).code, 0);
  fs.linkSync(path.join(src, 'ping'), path.join(src, 'ping-link'));
  fs.writeFileSync(path.join(src, 'mine'), '');
  fs.chownSync(path.join(src, 'mine'), 1000, 70000); // a gid beyond the range
  t.equal((await runCmd('mknod', [path.join(src, 'gone'), 'c', '0', '0'])).code, 0);
  fs.symlinkSync('ping', path.join(src, 'sym'));
  const range = { uidBase: 0x80000000, gidBase: 0x80000000, size: 65536 };
  const dest = path.join(top, 'copy');
  shiftedCopy(src, dest, range);
  const st = (f: string) => fs.lstatSync(path.join(dest, f));
  t.same([st('.').uid, st('ping').uid, st('sym').uid, st('gone').uid], [range.uidBase, range.uidBase, range.uidBase, range.uidBase], 'root\'s entries are the range\'s root\'s, links not followed');
  t.same([st('mine').uid, st('mine').gid], [range.uidBase + 1000, 70000], 'uid 1000 shifted; an id beyond the range kept (the pod sees its overflow id, as through an idmapped mount)');
  t.equal(st('ping').mode & 0o7777, 0o4755, 'setuid kept over the chown');
  t.equal(st('ping').ino, st('ping-link').ino, 'hard link kept, shifted once');
  const caps = nativeFs().lgetxattr(path.join(dest, 'ping'), 'security.capability')!;
  t.same([caps.length, caps.readUInt32LE(0) >>> 24, caps.readUInt32LE(20)], [24, 3, range.uidBase], 'the file capability kept, rooted at the range');
  t.ok(st('gone').isCharacterDevice() && st('gone').rdev === 0, 'the whiteout kept');
  t.equal(nativeFs().lgetxattr(path.join(dest, 'opaque'), 'trusted.overlay.opaque')?.toString(), 'y', 'the opaque mark kept');
  t.equal(fs.lstatSync(path.join(src, 'ping')).uid, 0, 'the source untouched');
});

t.test('a restarted container gets a fresh writable layer its root still owns', async (t) => {
  const e = await env(t);
  const yaml = pod('again', '', '[sh, -c, "touch /mark-$(date +%s%N) && echo wrote; sleep 0.2; exit 1"]').replace('terminationGracePeriodSeconds: 0', 'terminationGracePeriodSeconds: 0\n  restartPolicy: Always');
  const start = await e.podrun('start', '--restart-backoff', '100', await e.manifest('again', yaml));
  t.equal(start.code, 0, start.stderr);
  await waitFor(async () => ((await e.podrun('logs', 'again')).stdout.match(/wrote/g) ?? []).length >= 1 && JSON.parse((await e.podrun('inspect', 'again')).stdout).status.containerStatuses[0].restartCount >= 1, 'a restart', 15_000);
  await waitFor(async () => /wrote/.test((await e.podrun('logs', 'again')).stdout), 'the restarted run to write', 10_000);
  t.notMatch((await e.podrun('logs', 'again')).stdout, /Permission denied|Read-only/, 'its root could write / after the restart');
});

t.test('shareProcessNamespace in a user-namespaced pod: its PID namespace is the pod\'s user namespace\'s', async (t) => {
  const e = await env(t);
  const yaml = pod('shared', `    - name: side
      image: localhost/podrun/busybox
      command: [sleep, "301"]`).replace('hostUsers: false', 'hostUsers: false\n  shareProcessNamespace: true');
  const start = await e.podrun('start', await e.manifest('shared', yaml));
  t.equal(start.code, 0, start.stderr);
  const ps = await e.inside('shared', 'ps -o pid,user,args');
  t.match(ps.stdout, /\n\s*1 root\s+podrun-pod-init/, 'pid 1 is the pod\'s init, as the pod\'s root (not the host\'s)');
  t.match(ps.stdout, /sleep 301/, 'the other container\'s process is visible');
  t.equal((await e.inside('shared', 'ls /proc/1/root/ 2>&1 | head -1; cat /proc/1/environ 2>&1 | head -c 40')).stdout.includes('Permission denied'), true, 'pid 1 is out of reach');
  t.equal((await e.podrun('rm', '-f', 'shared')).code, 0);
});

t.test('a hostPath volume of a user-namespaced pod is bound idmapped: the host\'s owners as the pod\'s, nothing chowned', async (t) => {
  const before = await snapshotHost();
  const e = await env(t);
  const dir = fs.mkdtempSync(path.join(e.dataRoot, 'hostpath-'));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'roots'), 'host\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'users'), 'u\n');
  fs.chownSync(path.join(dir, 'users'), 1000, 1000);
  fs.writeFileSync(path.join(dir, 'far'), 'f\n');
  fs.chownSync(path.join(dir, 'far'), 70000, 70000);
  const yaml = pod('hp').replace('emptyDir: {}', `hostPath: { path: ${dir}, type: Directory }`);
  const start = await e.podrun('start', await e.manifest('hp', yaml));
  t.equal(start.code, 0, start.stderr);
  t.equal((await e.inside('hp', 'stat -c %u:%g /scratch/roots /scratch/users /scratch/far')).stdout, '0:0\n1000:1000\n65534:65534\n', 'host root\'s file is the pod root\'s, 1000 is 1000, ids beyond the range are nobody');
  const w = await e.inside('hp', 'echo pod >> /scratch/roots && touch /scratch/made && mkdir /scratch/d && chown 1000:1000 /scratch/d && echo ok');
  t.equal(w.stdout, 'ok\n', w.stderr);
  t.equal(fs.readFileSync(path.join(dir, 'roots'), 'utf8'), 'host\npod\n');
  t.same([fs.statSync(path.join(dir, 'made')).uid, fs.statSync(path.join(dir, 'd')).uid], [0, 1000], 'what it makes there has the host ids the pod\'s map to');
  t.equal(fs.statSync(path.join(dir, 'far')).uid, 70000, 'nothing chowned');
  t.match((await e.inside('hp', 'chown 0 /scratch/far 2>&1; echo rc=$?')).stdout, /rc=1/, 'an id beyond its range is not its to take');
  t.equal((await e.podrun('rm', '-f', 'hp')).code, 0);
  t.same((await snapshotHost()).mounts, before.mounts, 'no mounts left');
});

t.test('a subPath podrun makes in a user-namespaced pod\'s volume is its root\'s', async (t) => {
  const e = await env(t);
  const yaml = pod('sub').replace('volumeMounts: [{ name: scratch, mountPath: /scratch }]', 'volumeMounts: [{ name: scratch, mountPath: /scratch, subPath: made/here }]');
  const start = await e.podrun('start', await e.manifest('sub', yaml));
  t.equal(start.code, 0, start.stderr);
  t.equal((await e.inside('sub', 'touch /scratch/x && stat -c %u:%g /scratch /scratch/x')).stdout, '0:0\n0:0\n', 'made as the volume\'s owner, writable by its root');
  const made = path.join(e.record('sub').dataDir, 'volumes', 'scratch', 'made', 'here');
  t.equal(fs.statSync(made).uid, e.record('sub').userns!.uidBase, 'owned by the mapped root on the host');
  t.equal((await e.podrun('rm', '-f', 'sub')).code, 0);
});

t.test('nothing the launch took as host root (the rootfs, detached bind sources) is left open in the container', async (t) => {
  const e = await env(t);
  const dir = fs.mkdtempSync(path.join(e.dataRoot, 'fds-'));
  const yaml = pod('fds', '', '[sh, -c, "ls /proc/self/fd; exec sleep 300"]')
    .replace('volumes: [{ name: scratch, emptyDir: {} }]', `volumes: [{ name: scratch, emptyDir: {} }, { name: host, hostPath: { path: ${dir} } }]`)
    .replace('volumeMounts: [{ name: scratch, mountPath: /scratch }]', 'volumeMounts: [{ name: scratch, mountPath: /scratch }, { name: host, mountPath: /host }, { name: scratch, mountPath: /sub, subPath: a/b }]');
  const start = await e.podrun('start', await e.manifest('fds', yaml));
  t.equal(start.code, 0, start.stderr);
  await waitFor(async () => (await e.podrun('logs', 'fds')).stdout.length > 0, 'the listing');
  t.equal((await e.podrun('logs', 'fds')).stdout, '0\n1\n2\n3\n', 'stdio and ls\'s own directory fd only');
  t.equal((await e.inside('fds', 'ls /proc/1/fd')).stdout, '0\n1\n2\n', 'pid 1 holds stdio only');
  t.equal((await e.podrun('rm', '-f', 'fds')).code, 0);
});

t.test('what a hostUsers: false pod cannot ask is refused, naming the field', async (t) => {
  const e = await env(t);
  const cases: Array<[string, string, RegExp]> = [
    ['hostnet', pod('hostnet').replace('hostUsers: false', 'hostUsers: false\n  hostNetwork: true'), /spec\.hostNetwork: the host's namespaces are owned by the host's user namespace: not allowed with spec\.hostUsers: false/],
    ['bigid', pod('bigid', '      securityContext: { runAsUser: 70000 }'), /spec\.containers\[0\]\.securityContext\.runAsUser: 70000 is outside the pod's ids \(0–65535\)/],
    ['priv', pod('priv', '      securityContext: { privileged: true }'), /spec\.containers\[0\]\.securityContext\.privileged: .*not allowed with spec\.hostUsers: false/],
  ];
  for (const [name, yaml, want] of cases) {
    const r = await e.podrun('start', await e.manifest(name, yaml));
    t.equal(r.code, 1, name);
    t.match(r.stderr, want, name);
  }
  t.equal((await e.podrun('ps', '-q')).stdout, '', 'nothing started');
  // where the ranges come from is configurable; a size below 65536 cannot hold a pod's ids
  const small = await e.podrun('start', '--userns-size', '1000', await e.manifest('small', pod('small')));
  t.match(small.stderr, /user namespace size 1000: must be at least 65536/);
  const based = await e.podrun('start', '--userns-base', String(0x40000000), await e.manifest('based', pod('based')));
  t.equal(based.code, 0, based.stderr);
  t.equal(e.record('based').userns!.uidBase, 0x40000000);
  t.equal((await e.podrun('ps', '-q')).stdout.trim().split('\n').length, 1, 'the refused one left nothing');
});
