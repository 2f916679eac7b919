/** Rootless podrun (issue 20): an ordinary user made here (useradd, with and without /etc/subuid ranges) runs the
 * README's example pod, pulls from a local registry, loads, execs, reads logs, uses the library through
 * `podrun unshare`, and removes — leaving nothing; and that user's pods, tried as an attacker would, cannot act on
 * host root's files. The package is bind-mounted where the user can read it; the user's cgroup is delegated as
 * systemd would (a directory chowned to the user, the user's shell moved into it) or, in one case, not at all. */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { fixtures, repoRoot, runCmd, tempDir, waitFor, type CmdResult } from '../helpers';
import { startRegistry } from '../support/registry';
import { CGROUP2, makeRootlessUser, type RootlessUser as MadeUser } from '../support/rootless-user';

const hostMounts = (): string[] => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').slice(3, 5).join(' ')).sort();
const before = { mounts: hostMounts(), subuid: fs.readFileSync('/etc/subuid', 'utf8'), subgid: fs.readFileSync('/etc/subgid', 'utf8'), passwd: fs.readFileSync('/etc/passwd', 'utf8') };

interface RootlessUser extends MadeUser {
  /** a command as the user, in the delegated cgroup unless `delegated: false` */
  run(args: string[], o?: { input?: string; delegated?: boolean; wrap?: string[] }): Promise<CmdResult>;
  podrun(...args: string[]): Promise<CmdResult>;
}

async function rootlessUser(t: Test, o: { subids: boolean | 'by-uid' }): Promise<RootlessUser> {
  const made = makeRootlessUser({ prefix: 'prt', subids: o.subids, repo: repoRoot });
  const user: RootlessUser = Object.assign(made, {
    run(args: string[], ro: { input?: string; delegated?: boolean; wrap?: string[] } = {}) {
      const [cmd, ...rest] = made.command(args, ro);
      return runCmd(cmd!, rest, { input: ro.input, cwd: made.pkg });
    },
    podrun: (...args: string[]) => user.run(['podrun', ...args]),
  });
  // the user's pods first (their processes run as the range's ids, their mounts are in the user's namespace), then
  // the user's own processes, the package mount, the cgroups, the user and its home, the directories
  t.teardown(async () => {
    const ids = (await user.podrun('ps', '-a', '-q')).stdout.split('\n').filter(Boolean);
    if (ids.length) await user.podrun('rm', '-f', ...ids);
    made.remove();
  });
  return user;
}

/** Host pids in a cgroup tree. */
function pidsUnder(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const out = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...pidsUnder(path.join(dir, e.name)));
  return out;
}

/** The host's processes of a uid (zombies aside: pid 1 reaps late here), with their command lines. */
function userProcesses(uid: number): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const status = fs.readFileSync(`/proc/${d}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)![1]) !== uid || /^State:\s+Z/m.test(status)) continue;
      out.push({ pid: Number(d), cmdline: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const hostUidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

const manifest = (u: RootlessUser, name: string, text: string): string => {
  const f = path.join(u.runDir, `${name}.yaml`);
  fs.writeFileSync(f, text);
  fs.chownSync(f, u.uid, u.gid);
  return f;
};

/** Mounts below the user's data root in the user's namespace (the pause process's). */
function userMounts(u: RootlessUser): string[] {
  const pause = u.pausePid();
  if (!pause) return [];
  return fs.readFileSync(`/proc/${pause}/mountinfo`, 'utf8').split('\n').filter((l) => l.includes(`${u.home}/`) || l.includes(`${u.runDir}/podrun/`));
}

/** A port no one listens on now (the kernel's pick, released). */
async function freePort(type: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (type === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '0.0.0.0', resolve));
    const { port } = s.address();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  }
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '0.0.0.0', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Whether a UDP port of this host is bound by someone (binding it ourselves fails). */
async function udpTaken(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, '0.0.0.0', resolve);
    });
    return false;
  } catch {
    return true;
  } finally {
    try { s.close(); } catch { /* never bound */ }
  }
}

const get = async (url: string): Promise<string> => {
  try {
    return (await (await fetch(url, { signal: AbortSignal.timeout(3000) })).text()).trim();
  } catch (e) {
    return `error: ${(e as Error).cause ? String((e as Error & { cause: unknown }).cause) : (e as Error).message}`;
  }
};

/** The host's first IPv4 address on the interface of its default route (what pasta gives pods), if any. */
function hostAddress(): string | undefined {
  const line = fs.readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).find((l) => l.trim().split(/\s+/)[1] === '00000000');
  const dev = line?.trim().split(/\s+/)[0];
  return dev ? os.networkInterfaces()[dev]?.find((a) => a.family === 'IPv4' && !a.internal)?.address : undefined;
}

t.test('rootless with /etc/subuid ranges: the README example, a registry pull, exec, logs, rm; nothing left', async (t) => {
  const fx = await fixtures();
  const u = await rootlessUser(t, { subids: true });
  t.ok(u.subuid && u.subgid, `useradd gave ${u.name} subordinate ids (${u.subuid})`);

  // the README's example, as the user runs it: load, start, ps, logs, rm
  const example = await u.run(['examples/run-example.sh', 'examples/pods/web-sidecar.yaml']);
  t.equal(example.code, 0, example.stderr);
  t.match(example.stdout, /web-sidecar\s+\w+\s+3\/3\s+Running/, 'ps: 3/3 Running');
  t.match(example.stdout, /<p>[\d:]+ from web-sidecar<\/p>/, "the reader fetched the web container's page over localhost");
  t.match(example.stdout, /\$ podrun rm -f web-sidecar\nweb-sidecar\n$/);

  // state and data are the user's, under XDG_RUNTIME_DIR and ~/.local/share
  const data = path.join(u.home, '.local', 'share', 'podrun');
  t.equal(fs.statSync(data).uid, u.uid, 'the data root is the user\'s');
  t.equal(fs.statSync(path.join(u.runDir, 'podrun')).uid, u.uid);
  t.notOk(fs.existsSync('/run/podrun/pods') && fs.readdirSync('/run/podrun/pods').some((d) => d.includes(u.name)));
  // the package is not the user's to write: the CLI's code caches go to the user's cache directory, the user's alone
  const caches = path.join(u.home, '.cache', 'podrun', 'code-cache', path.join(u.pkg, 'dist').replace(/\//g, '%'));
  const cached = fs.existsSync(caches) ? fs.readdirSync(caches) : [];
  t.ok(cached.includes('cli.js.start.cache'), `code caches in ~/.cache/podrun (${cached.join(' ')})`);
  t.same(cached.map((f) => { const st = fs.statSync(path.join(caches, f)); return [st.uid, st.mode & 0o777]; }).filter(([uid, mode]) => uid !== u.uid || mode !== 0o600), [], 'the user\'s, 0600');
  // the fixture's /home/user (uid 1000 in the image) is the user's subordinate uid 999 past the first on the host
  const layerHome = execFileSync('sh', ['-c', `ls -d ${data}/layers/*/fs/home/user | head -1`]).toString().trim();
  t.same([fs.statSync(layerHome).uid, fs.statSync(layerHome).gid], [u.subuid! + 999, u.subgid! + 999], 'image ids 1..N are the user\'s subordinate ids on the host');
  t.equal(fs.statSync(path.join(path.dirname(path.dirname(layerHome)), 'bin', 'busybox')).uid, u.uid, "the image's root is the user");

  // a pull from a local registry
  const reg = await startRegistry(t, await tempDir(t, 'podrun-registry-'));
  await reg.push(fx.images['busybox-gzip'], 'rootless/busybox:1');
  const pull = await u.podrun('pull', '-q', '--insecure', `${reg.host}/rootless/busybox:1`);
  t.equal(pull.code, 0, pull.stderr);
  t.match((await u.podrun('images')).stdout, `${reg.host}/rootless/busybox:1 `);

  // a long-running pod: exec, logs, its processes' host ids, the user's files through a hostPath
  const hostRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-hostroot-'));
  t.teardown(() => fs.rmSync(hostRoot, { recursive: true, force: true }));
  fs.chmodSync(hostRoot, 0o755);
  fs.writeFileSync(path.join(hostRoot, 'f'), 'host root\'s\n', { mode: 0o644 });
  const mine = path.join(u.runDir, 'mine');
  fs.mkdirSync(mine);
  fs.chownSync(mine, u.uid, u.gid);
  const f = manifest(u, 'app', `
apiVersion: v1
kind: Pod
metadata: { name: app }
spec:
  terminationGracePeriodSeconds: 0
  volumes:
    - { name: hostroot, hostPath: { path: ${hostRoot} } }
    - { name: mine, hostPath: { path: ${mine} } }
    - { name: scratch, emptyDir: {} }
  containers:
    - name: main
      image: ${reg.host}/rootless/busybox:1
      command: [sh, -c, "echo started; exec sleep 300"]
      volumeMounts: [{ name: hostroot, mountPath: /hostroot }, { name: mine, mountPath: /mine }, { name: scratch, mountPath: /scratch }]
    - name: other
      image: localhost/podrun/busybox
      command: [sh, -c, "exec sleep 300"]
      securityContext: { runAsUser: 1000, runAsGroup: 1000 }
      volumeMounts: [{ name: scratch, mountPath: /scratch }, { name: mine, mountPath: /mine }]
`);
  const start = await u.podrun('start', f);
  t.equal(start.code, 0, start.stderr);
  t.match((await u.podrun('ps')).stdout, /app\s+\w+\s+2\/2\s+Running/);
  t.equal((await u.podrun('logs', 'app', '-c', 'main')).stdout, 'started\n');
  const exec = await u.podrun('exec', 'app', '-c', 'main', '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map');
  t.equal(exec.code, 0, exec.stderr);
  const [id, ...map] = exec.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.equal(id, '0', 'root in the container');
  t.same(map, [`0 ${u.uid} 1`, `1 ${u.subuid} 65536`], "the container's uid 0 is the user; 1.. the user's subordinate ids");
  const pids = pidsUnder(u.cgroup!);
  t.ok(pids.length >= 3, `the pod's processes are in the user's delegated cgroup (${pids.length})`);
  const ids = new Set(pids.map(hostUidOf));
  t.ok([...ids].every((i) => i === u.uid || i === u.subuid! + 999), `on the host they run as the user or its subordinate ids: ${[...ids].join(', ')}`);

  // tried as an attacker: host root's file, seen by the container's root, cannot be changed
  const attack = await u.podrun('exec', 'app', '-c', 'main', '--', 'sh', '-c',
    'for c in "echo x >> /hostroot/f" "touch /hostroot/new" "chmod 777 /hostroot/f" "chown 0:0 /hostroot/f" "rm /hostroot/f" "mknod /scratch/sda b 8 0"; do sh -c "$c" 2>/dev/null && echo "DID: $c"; done; echo done');
  t.equal(attack.stdout, 'done\n', `nothing host root owns can be changed by the container's root: ${attack.stdout}`);
  t.equal(fs.readFileSync(path.join(hostRoot, 'f'), 'utf8'), 'host root\'s\n');
  t.same(fs.readdirSync(hostRoot), ['f']);
  // what it writes on the user's hostPath is the user's; uid 1000 inside is a subordinate id outside
  t.equal((await u.podrun('exec', 'app', '-c', 'main', '--', 'sh', '-c', 'echo a > /mine/by-root && chmod 777 /mine')).code, 0);
  t.equal((await u.podrun('exec', 'app', '-c', 'other', '--', 'sh', '-c', 'echo b > /mine/by-1000 && echo c > /scratch/by-1000')).code, 0);
  t.equal(fs.statSync(path.join(mine, 'by-root')).uid, u.uid, "the container's root writes as the user");
  t.same([fs.statSync(path.join(mine, 'by-1000')).uid, fs.statSync(path.join(mine, 'by-1000')).gid], [u.subuid! + 999, u.subgid! + 999], 'uid 1000 inside writes as subordinate id 999 past the first');

  // a shared PID namespace: the containers see each other's processes (and only the pod's)
  const shared = await u.podrun('start', manifest(u, 'sharepid', `
apiVersion: v1
kind: Pod
metadata: { name: sharepid }
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 0
  containers:
    - { name: a, image: localhost/podrun/busybox, command: [sleep, "301"] }
    - { name: b, image: localhost/podrun/busybox, command: [sleep, "302"] }
`));
  t.equal(shared.code, 0, shared.stderr);
  const ps = (await u.podrun('exec', 'sharepid', '-c', 'b', '--', 'ps', '-o', 'pid,args')).stdout;
  t.match(ps, /^\s*1 podrun-pod-init/m, "shareProcessNamespace: the pod's init is pid 1…");
  t.match(ps, /sleep 301/, "…container b sees container a's process");
  t.equal(ps.trim().split('\n').length, 5, '…and nothing of the host (header, init, two sleeps, ps)');
  // rootless, a container joins the shared PID namespace before its root is its own (the kernel's procfs rule): while
  // set up it is not dumpable, as the pod's init always is, so the pod's processes cannot enter it through /proc
  for (const cmd of ['ls /proc/1/root/', 'readlink /proc/1/exe', 'ls /proc/1/cwd/', 'cat /proc/1/environ']) {
    const r = await u.podrun('exec', 'sharepid', '-c', 'b', '--', 'sh', '-c', cmd);
    t.not(r.code, 0, `${cmd}: refused for a process that is not dumpable (the pod's init)`);
  }
  t.equal((await u.podrun('rm', '-f', 'sharepid')).code, 0);

  // refused by field, nothing made
  const refuse = async (what: string, yaml: string, re: RegExp, extra: string[] = []) => {
    const r = await u.podrun('start', ...extra, manifest(u, what, yaml));
    t.not(r.code, 0, `${what} refused`);
    t.match(r.stderr, re);
    t.notMatch((await u.podrun('ps', '-a')).stdout, new RegExp(`^${what}\\s`, 'm'), `${what}: nothing left`);
  };
  const simple = (name: string, spec = '', sc = '') => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  ${spec || 'restartPolicy: Never'}
  containers: [{ name: c, image: localhost/podrun/busybox, command: ["true"]${sc ? `, securityContext: ${sc}` : ''} }]
`;
  await refuse('userns', simple('userns', 'hostUsers: false'), /spec\.hostUsers: false: rootless, every pod runs in your own user namespace already/);
  await refuse('bigid', simple('bigid', '', '{ runAsUser: 70000 }'), /spec\.containers\[0\]\.securityContext\.runAsUser: 70000 is outside your user namespace's ids \(0–65536\)/);
  await refuse('cni', simple('cni'), /network "podrun": rootless, CNI networks are not available/, ['--network', 'podrun']);

  // rm: nothing of the user's pods is left — processes, cgroups, mounts in the user's namespace, state
  const rm = await u.podrun('rm', '-f', 'app');
  t.equal(rm.code, 0, rm.stderr);
  t.same(pidsUnder(u.cgroup!).filter((p) => p !== u.pausePid()), [], 'no process left in the delegated cgroup but the pause process');
  t.same(fs.readdirSync(u.cgroup!, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name), [], 'no cgroup left');
  t.same(userMounts(u), [], "no mount left in the user's namespace");
  t.same(fs.readdirSync(path.join(u.runDir, 'podrun', 'pods')), [], 'no pod state left');
  t.same(fs.readdirSync(path.join(data, 'pods')), [], 'no pod data left');
  const left = execFileSync('ps', ['-u', String(u.uid), '-o', 'pid=,stat=,comm=']).toString().split('\n').filter((l) => l.trim() && !/\sZ/.test(l));
  t.same(left.map((l) => l.trim().split(/\s+/)[2]), ['podrun-pause'], 'of the user\'s processes only the pause process remains');
});

t.test('rootless library: `podrun unshare node …` runs a test with a pod; outside it the library says how', async (t) => {
  const u = await rootlessUser(t, { subids: true });
  t.equal((await u.run(['examples/run-example.sh', 'examples/pods/localhost.yaml'])).code, 0, 'the fixture image loaded');
  const script = path.join(u.runDir, 'lib.mjs');
  const hostPort = await freePort();
  fs.writeFileSync(script, `
import { Podrun, Wait } from '${u.pkg}/dist/esm/index.mjs';
const podrun = new Podrun();
console.log('roots', podrun.options.root, podrun.options.dataRoot);
const pod = await podrun.pod('libtest').container({ image: 'localhost/podrun/busybox', command: ['sh', '-c', 'echo hello > /tmp/index.html; echo ready; exec httpd -f -p 8080 -h /tmp'] })
  .start({ waitFor: Wait.forLogMessage('ready'), timeoutMs: 20000 });
const r = await pod.exec(['id', '-u']);
console.log('exec', r.exitCode, r.stdout.trim());
const { url } = await pod.port(8080);
console.log('fetch', (await (await fetch(url('/index.html'))).text()).trim());
await pod.remove();
// on pasta: the hostPort from the host, and port() through a forward (the pod's IP is the host's)
const pasta = new Podrun({ network: 'pasta' });
const web = await pasta.pod('libpasta').container({ image: 'localhost/podrun/busybox', command: ['sh', '-c', 'echo over pasta > /tmp/index.html; echo ready; exec httpd -f -p 8080 -h /tmp'],
  ports: [{ containerPort: 8080, hostPort: ${hostPort} }] }).start({ waitFor: Wait.forListeningPort(8080), timeoutMs: 20000 });
console.log('hostPort', (await (await fetch('http://127.0.0.1:${hostPort}/index.html')).text()).trim());
const fwd = await web.port(8080);
console.log('port', fwd.host, (await (await fetch(fwd.url('/index.html'))).text()).trim());
await web.remove();
`);
  fs.chownSync(script, u.uid, u.gid);
  const outside = await u.run(['node', script]);
  t.not(outside.code, 0);
  t.match(outside.stderr, /podrun's library runs as root, or rootless inside your podrun user namespace: `podrun unshare node --test/);
  const lib = await u.run(['podrun', 'unshare', 'node', script]);
  t.equal(lib.code, 0, lib.stderr);
  t.match(lib.stdout, new RegExp(`roots ${u.runDir}/podrun ${u.home}/.local/share/podrun\nexec 0 0\nfetch hello\nhostPort over pasta\nport 127\.0\.0\.1 over pasta\n`));
  t.same(fs.readdirSync(path.join(u.runDir, 'podrun', 'pods')), [], 'the scope removed its pod');
});

t.test('rootless with the user\'s own id only (no /etc/subuid), and without a delegated cgroup (pods untracked by cgroupfs, ended by their PID namespaces)', async (t) => {
  const fx = await fixtures();
  const u = await rootlessUser(t, { subids: false });
  t.equal(u.subuid, null);
  const load = await u.podrun('load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip'].replace(repoRoot, u.pkg));
  t.equal(load.code, 0, load.stderr);
  t.match(load.stderr, /warning: .*layer sha256:\w+: \d+ entries are owned by ids your user namespace does not map; they are owned by its root instead \(give your user 65536 ids in \/etc\/subuid/);
  const f = manifest(u, 'one', `
apiVersion: v1
kind: Pod
metadata: { name: one }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sh, -c, "exec sleep 300"] }]
`);
  const start = await u.podrun('start', f);
  t.equal(start.code, 0, start.stderr);
  const exec = await u.podrun('exec', 'one', '--', 'sh', '-c', 'cat /proc/self/uid_map; stat -c %u /home/user');
  t.same(exec.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), [`0 ${u.uid} 1`, '0'], 'one id; the image\'s uid 1000 file is root\'s');
  t.equal((await u.podrun('rm', '-f', 'one')).code, 0);
  // pasta with one id: it runs as the user, as it would with a range
  const port = await freePort();
  const web = await u.podrun('start', '--network', 'pasta', manifest(u, 'soloweb', `
apiVersion: v1
kind: Pod
metadata: { name: soloweb }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sh, -c, "echo solo > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"], ports: [{ containerPort: 8080, hostPort: ${port} }] }]
`));
  t.equal(web.code, 0, web.stderr);
  await waitFor(async () => (await get(`http://127.0.0.1:${port}/index.html`)) === 'solo', 'the single-id pod serving through pasta');
  t.pass('a single-id pod serves its hostPort through pasta');
  t.equal((await u.podrun('rm', '-f', 'soloweb')).code, 0);

  // outside a delegated cgroup: the pod runs in the user's own cgroup, its limits said not enforced by field; each
  // container's processes end with its PID namespace — one that left its parent too, at stop and at rm
  const own = fs.readFileSync('/proc/self/cgroup', 'utf8');
  const loose = (name: string, extra = '') => manifest(u, name, `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 0${extra}
  containers:
    - name: c
      image: localhost/podrun/busybox
      command: [sh, -c, "setsid sh -c 'exec sleep 4242' </dev/null >/dev/null 2>&1 & exec sleep 300"]
      resources: { limits: { memory: 64Mi } }
    - { name: d, image: localhost/podrun/busybox, command: [sh, -c, "trap '' TERM; sleep 301 & wait"] }
`);
  const sleepers = () => userProcesses(u.uid).filter((p) => /^sleep (4242|300|301)$/.test(p.cmdline));
  const r = await u.run(['podrun', 'start', loose('loose')], { delegated: false });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /warning: spec\.containers\[0\]\.resources\.limits\.memory: not enforced: rootless, no cgroup v2 subtree is delegated to you \(systemd gives each user one/);
  await waitFor(async () => sleepers().length === 3, 'the pod\'s three sleeps');
  t.same(sleepers().map((p) => fs.readFileSync(`/proc/${p.pid}/cgroup`, 'utf8')), [own, own, own], 'in the cgroup podrun ran in');
  t.equal((await u.run(['podrun', 'exec', 'loose', '-c', 'd', '--', 'echo', 'in'], { delegated: false })).stdout, 'in\n', 'exec');
  t.match((await u.run(['podrun', 'ps'], { delegated: false })).stdout, /^loose\s+\w+\s+2\/2\s+Running/m);
  // stop: SIGKILL reaches the container that ignores SIGTERM, and what left its parent
  const stop = await u.run(['podrun', 'stop', 'loose'], { delegated: false });
  t.equal(stop.code, 0, stop.stderr);
  await waitFor(async () => sleepers().length === 0, 'every sleep ended by stop');
  t.equal((await u.run(['podrun', 'rm', 'loose'], { delegated: false })).code, 0);
  const again = await u.run(['podrun', 'start', loose('loose2')], { delegated: false });
  t.equal(again.code, 0, again.stderr);
  await waitFor(async () => sleepers().length === 3, 'the second pod\'s three sleeps');
  t.equal((await u.run(['podrun', 'rm', '-f', 'loose2'], { delegated: false })).code, 0);
  t.same(sleepers(), [], 'rm -f ends every process of the pod, the one that left its parent too');
  t.same(userProcesses(u.uid).filter((p) => p.pid !== u.pausePid()).map((p) => p.cmdline), [], 'no process of the user left but the pause process');
  // what needs a cgroup to end with the pod is refused, by field, saying how to get one
  for (const field of ['hostPID', 'shareProcessNamespace']) {
    const x = await u.run(['podrun', 'start', loose('shared', `\n  ${field}: true`)], { delegated: false });
    t.not(x.code, 0, `${field}: refused`);
    t.match(x.stderr, new RegExp(`spec\\.${field}: rootless with no cgroup v2 subtree delegated to you, podrun ends a container's processes with its own PID namespace`));
  }
  t.equal((await u.podrun('ps', '-a', '-q')).stdout, '', 'nothing left');
});

t.test('/etc/subuid ranges named by uid, after a malformed line of the user\'s: the valid range is the one mapped', async (t) => {
  const fx = await fixtures();
  const u = await rootlessUser(t, { subids: 'by-uid' });
  t.ok(u.subuid, `the user's range, by uid (${u.subuid})`);
  t.equal((await u.podrun('load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip'].replace(repoRoot, u.pkg))).code, 0);
  const f = manifest(u, 'byuid', `
apiVersion: v1
kind: Pod
metadata: { name: byuid }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sleep, "300"] }]
`);
  const start = await u.podrun('start', f);
  t.equal(start.code, 0, start.stderr);
  const map = await u.podrun('exec', 'byuid', '--', 'cat', '/proc/self/uid_map');
  t.same(map.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), [`0 ${u.uid} 1`, `1 ${u.subuid} 65536`]);
  t.equal((await u.podrun('rm', '-f', 'byuid')).code, 0);
});

t.test('rootless --network pasta: hostPorts forwarded from the host and nothing else; the pod reaches out, not host-only services; rm frees the ports', async (t) => {
  const fx = await fixtures();
  const u = await rootlessUser(t, { subids: true });
  t.equal((await u.podrun('load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip'].replace(repoRoot, u.pkg))).code, 0);
  const [web, local, udp, unasked] = [await freePort(), await freePort(), await freePort('udp'), await freePort()];
  // a service only the host's loopback offers: no pod may reach it
  let hostOnlyHits = 0;
  const hostOnly = net.createServer((c) => { hostOnlyHits++; c.end('host secret\n'); });
  await new Promise<void>((resolve) => hostOnly.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => hostOnly.close(() => resolve())));
  const hostOnlyPort = (hostOnly.address() as net.AddressInfo).port;
  const f = manifest(u, 'pasta', `
apiVersion: v1
kind: Pod
metadata: { name: webp }
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - name: web
      image: localhost/podrun/busybox
      command: [sh, -c, "echo served from the pod > /tmp/index.html; httpd -p ${unasked} -h /tmp; exec httpd -f -p 8080 -h /tmp"]
      ports:
        - { containerPort: 8080, hostPort: ${web} }
        - { containerPort: 8080, hostPort: ${local}, hostIP: 127.0.0.1 }
        - { containerPort: 53, hostPort: ${udp}, protocol: UDP }
`);
  const start = await u.podrun('start', '--network', 'pasta', f);
  t.equal(start.code, 0, start.stderr);
  const addr = hostAddress();
  t.match((await u.podrun('ps')).stdout, new RegExp(`^webp\\s.*Running\\s+0\\s+${addr ?? '-'}\\s`, 'm'), "ps: the pod's IP is the host's, as pasta gives it");
  await waitFor(async () => (await get(`http://127.0.0.1:${web}/index.html`)) === 'served from the pod', 'the pod serving');
  t.equal(await get(`http://127.0.0.1:${web}/index.html`), 'served from the pod', "the host's loopback:hostPort reaches the container's port");
  if (addr) t.equal(await get(`http://${addr}:${web}/index.html`), 'served from the pod', `so does the host's ${addr}:hostPort`);
  t.equal(await get(`http://127.0.0.1:${local}/index.html`), 'served from the pod', 'hostIP 127.0.0.1: reached on the loopback');
  if (addr) t.match(await get(`http://${addr}:${local}/index.html`), /^error:/, `…and not on ${addr}`);
  t.ok(await udpTaken(udp), 'the UDP hostPort is bound on the host');
  t.match(await get(`http://127.0.0.1:${unasked}/index.html`), /^error:/, 'a port the pod listens on but did not ask to publish is not reachable from the host');
  const exec = (cmd: string) => u.podrun('exec', 'webp', '--', 'sh', '-c', cmd);
  t.match((await exec('ip -o -4 addr show dev eth0')).stdout, addr ? new RegExp(`inet ${addr.replace(/\./g, '\\.')}/`) : /inet /, 'the pod has eth0 with the host\'s address');
  // attacks: the host's loopback-only service, through the pod's loopback, the gateway and the host's own address
  const gw = (await exec("ip -4 route show default | awk '{print $3}'")).stdout.trim();
  for (const target of ['127.0.0.1', gw, addr].filter(Boolean) as string[]) {
    const r = await exec(`echo hi | nc -w 2 ${target} ${hostOnlyPort}`);
    t.notMatch(r.stdout, /host secret/, `the pod cannot reach the host's loopback service via ${target}`);
  }
  t.equal(hostOnlyHits, 0, 'the host-only service saw no connection');
  // out: what the host reaches, the pod does (skipped only where the host itself has no way out)
  const outside = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: 'deb.debian.org', port: 80, timeout: 3000 }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false)).on('timeout', () => { s.destroy(); resolve(false); });
  });
  if (outside) {
    // (this network's way out drops about one connection in ten, the host's own too: a few tries)
    const r = await exec('for i in 1 2 3 4 5 6 7 8; do printf "HEAD /debian/ HTTP/1.0\\r\\nHost: deb.debian.org\\r\\n\\r\\n" | timeout 3 nc deb.debian.org 80 | head -1 | grep HTTP && break; sleep 0.3; done');
    t.match(r.stdout, /^HTTP\/1\.[01] \d{3}/, 'the pod reaches deb.debian.org:80 through pasta (DNS included)');
  } else t.comment('this host reaches no outside server: outbound not tried');

  // the same hostPort again: refused with pasta's reason, nothing left of the second pod
  const again = await u.podrun('start', '--network', 'pasta', manifest(u, 'again', fs.readFileSync(f, 'utf8').replace('name: webp', 'name: again')));
  t.not(again.code, 0, 'a second pod on a taken hostPort is refused');
  t.match(again.stderr, /network pasta: pasta failed \(exit 1\): .*Failed to bind any port/);
  t.notMatch((await u.podrun('ps', '-a')).stdout, /^again\s/m, 'nothing of it left');
  // refused by field before anything is made
  const low = await u.podrun('start', '--network', 'pasta', manifest(u, 'low', `
apiVersion: v1
kind: Pod
metadata: { name: low }
spec:
  containers: [{ name: c, image: localhost/podrun/busybox, command: ["true"], ports: [{ containerPort: 80, hostPort: 80 }] }]
`));
  t.match(low.stderr, /spec\.containers\[0\]\.ports\[0\]\.hostPort: 80 is below net\.ipv4\.ip_unprivileged_port_start \(\d+\): rootless, only root may bind it/);
  const none = await u.podrun('start', manifest(u, 'noport', fs.readFileSync(f, 'utf8').replace('name: webp', 'name: noport')));
  t.match(none.stderr, /spec\.containers\[0\]\.ports\[0\]\.hostPort: a hostPort needs a network that forwards ports \(rootless: podrun start --network pasta\)/);

  const pastas = () => execFileSync('ps', ['-u', String(u.uid), '-o', 'pid=,stat=,comm=']).toString().split('\n').filter((l) => /passt|pasta/.test(l) && !/\sZ/.test(l));
  t.equal(pastas().length, 1, 'one pasta, for the one pod');
  t.match((await u.podrun('network', 'check', 'webp')).stdout, /^webp: pasta ok/, 'network check: its pasta serves it');
  t.equal((await u.podrun('rm', '-f', 'webp')).code, 0);
  t.same(pastas(), [], 'rm ended its pasta');
  t.match(await get(`http://127.0.0.1:${web}/index.html`), /^error:/, 'the hostPort is closed');
  t.notOk(await udpTaken(udp), 'the UDP hostPort is free');
  t.same(fs.readdirSync(path.join(u.home, '.local/share/podrun/pods')), [], 'no pod data left');
});

t.test("rootless hostNetwork, hostPID, hostIPC: the host's namespaces, their /sys, /proc, /dev/mqueue bound; the container's root gains nothing over the host", async (t) => {
  const fx = await fixtures();
  // the container binds the host's /dev/mqueue; where no systemd mounted one, it is mounted in a mount namespace of
  // the test's from which the user's podrun namespace is made (the mqueue file system is the host IPC namespace's).
  // The directory's teardown comes first so that it runs last (teardowns run last-in first-out), once the user's
  // pause process, whose namespace has the mount, is gone.
  const hostMqueue = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === '/dev/mqueue');
  if (!hostMqueue && !fs.existsSync('/dev/mqueue')) {
    fs.mkdirSync('/dev/mqueue');
    t.teardown(async () => {
      for (let i = 0; ; i++) {
        try {
          fs.rmdirSync('/dev/mqueue');
          return;
        } catch (e) {
          if (i === 50) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    });
  }
  const u = await rootlessUser(t, { subids: true });
  const inHostIpc = (cmd: string) => execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${hostMqueue ? '' : 'mount -t mqueue mqueue /dev/mqueue && '}${cmd}`]).toString();
  const wrap = hostMqueue ? undefined : ['unshare', '-m', '--propagation', 'slave', 'sh', '-c', 'mount -t mqueue mqueue /dev/mqueue && exec "$@"', 'mq'];
  t.equal((await u.run(['podrun', 'load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip'].replace(repoRoot, u.pkg)], { wrap })).code, 0);
  let hits = 0;
  const conns = new Set<net.Socket>();
  const hostService = net.createServer((c) => { hits++; conns.add(c); c.end('host loopback\n'); });
  await new Promise<void>((resolve) => hostService.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const c of conns) c.destroy(); // a client that never closes its side must not hold the teardown
    hostService.close(() => resolve());
  }));
  const start = await u.podrun('start', manifest(u, 'hostns', `
apiVersion: v1
kind: Pod
metadata: { name: hostns }
spec:
  hostNetwork: true
  hostPID: true
  hostIPC: true
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sleep, "300"] }]
`));
  t.equal(start.code, 0, start.stderr);
  const exec = (cmd: string) => u.podrun('exec', 'hostns', '--', 'sh', '-c', cmd);
  t.same((await exec('ls /sys/class/net')).stdout.split(/\s+/).filter(Boolean).sort(), fs.readdirSync('/sys/class/net').sort(), "hostNetwork: the host's interfaces, in the host's /sys");
  t.match((await exec(`echo hi | nc -w 2 127.0.0.1 ${(hostService.address() as net.AddressInfo).port}`)).stdout, /host loopback/, "…and the host's loopback");
  t.equal(hits, 1);
  t.equal((await exec(`test -d /proc/${process.pid}`)).code, 0, "hostPID: the host's processes in the host's /proc");
  t.equal((await exec('grep -c " /dev/mqueue " /proc/self/mountinfo')).stdout.trim(), '1', 'hostIPC: /dev/mqueue is there');
  const queue = `podrun-test-${process.pid}`;
  t.equal((await exec(`touch /dev/mqueue/${queue}`)).code, 0, 'a message queue made in the container…');
  t.match(inHostIpc('ls /dev/mqueue'), new RegExp(`^${queue}$`, 'm'), "…is one of the host's IPC namespace");
  await exec(`rm /dev/mqueue/${queue}`);
  // what host root's processes, network and kernel settings are to the container's root: out of reach
  t.match((await exec(`kill -0 ${process.pid}`)).stderr, /Operation not permitted/, "the container's root cannot signal host root's processes");
  t.not((await exec('cat /proc/1/environ')).code, 0, "…nor read their environment");
  t.match((await exec('ip link set lo down')).stderr, /Operation not permitted/, "…nor change the host's interfaces");
  t.not((await exec('echo 1 > /proc/sys/net/ipv4/ip_forward')).code, 0, '…nor its network sysctls');
  t.not((await exec('echo 1 > /sys/kernel/mm/ksm/run')).code, 0, '…nor write /sys');
  t.not((await exec('mount -t tmpfs none /mnt')).code, 0, '…nor mount anything (no CAP_SYS_ADMIN)');
  t.equal((await u.podrun('rm', '-f', 'hostns')).code, 0);
  t.same(fs.readdirSync(path.join(u.runDir, 'podrun', 'pods')), [], 'no pod state left');
});

t.test('after the rootless tests: the host as it was (mounts, users, /etc/subuid, cgroups)', async (t) => {
  t.same(hostMounts(), before.mounts, 'no mount left');
  t.equal(fs.readFileSync('/etc/passwd', 'utf8'), before.passwd, 'the test users are gone');
  t.equal(fs.readFileSync('/etc/subuid', 'utf8'), before.subuid);
  t.equal(fs.readFileSync('/etc/subgid', 'utf8'), before.subgid);
  t.same(fs.readdirSync(CGROUP2).filter((d) => d.startsWith('podrun-test-prt')), [], 'no delegated cgroup left');
});
