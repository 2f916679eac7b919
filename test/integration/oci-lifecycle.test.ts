/** The runc-compatible lifecycle through `podrun-oci`: every command and
 * state transition, exec, the monitor, crashes and stale state. */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { isRoot, makeBundle, repoRoot, runCmd, snapshotHost, tempDir, uniqueId, waitFor, type CmdResult } from '../helpers';

const podrunOci = path.join(repoRoot, 'bin', 'podrun-oci');

interface Oci {
  root: string;
  /** run a podrun-oci command, capturing output */
  cmd(...args: string[]): Promise<CmdResult>;
  /** run a command whose stdio the container inherits: output goes to a file */
  detached(logFile: string, ...args: string[]): Promise<number | null>;
  state(id: string): Promise<{ status: string; pid: number }>;
}

async function oci(t: Parameters<typeof tempDir>[0]): Promise<Oci> {
  const root = await tempDir(t, 'podrun-root-');
  const o: Oci = {
    root,
    cmd: (...args) => runCmd(podrunOci, ['--root', root, ...args]),
    detached: (logFile, ...args) =>
      new Promise((resolve, reject) => {
        const fd = openSync(logFile, 'a');
        const child = spawn(podrunOci, ['--root', root, ...args], { stdio: ['ignore', fd, fd] });
        closeSync(fd);
        child.on('error', reject);
        child.on('exit', (code) => resolve(code));
      }),
    state: async (id) => {
      const r = await o.cmd('state', id);
      if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
      return JSON.parse(r.stdout) as { status: string; pid: number };
    },
  };
  // whatever a test leaves is force-deleted, so one failure does not leak into the next
  t.teardown(async () => {
    for (const id of await readdir(path.join(root, 'containers')).catch(() => [])) await o.cmd('delete', '--force', id);
  });
  return o;
}

if (!isRoot) {
  t.plan(0, 'integration tests need root');
} else {
  t.test('create → start → stopped → delete, output to the creator\'s stdio', async (t) => {
    const before = await snapshotHost();
    const o = await oci(t);
    const dir = await tempDir(t);
    const log = path.join(dir, 'out.log');
    const pidFile = path.join(dir, 'pid');
    const bundle = await makeBundle(t, 'echo hello-from-start; exit 3');
    const id = uniqueId('life');
    t.equal(await o.detached(log, 'create', '--bundle', bundle, '--pid-file', pidFile, id), 0, 'create exits 0');
    const created = await o.state(id);
    t.equal(created.status, 'created');
    t.equal(Number(await readFile(pidFile, 'utf8')), created.pid, '--pid-file');
    t.equal(await readFile(log, 'utf8'), '', 'nothing ran before start');
    const st = await o.cmd('start', id);
    t.equal(st.code, 0, st.stderr);
    await waitFor(async () => (await o.state(id)).status === 'stopped', 'stopped');
    t.equal(await readFile(log, 'utf8'), 'hello-from-start\n');
    t.equal((await o.state(id)).pid, 0, 'a stopped container reports pid 0');
    const again = await o.cmd('start', id);
    t.equal(again.code, 1);
    t.match(again.stderr, /cannot start a container that is stopped/);
    const del = await o.cmd('delete', id);
    t.equal(del.code, 0, del.stderr);
    const gone = await o.cmd('state', id);
    t.equal(gone.code, 1);
    t.match(gone.stderr, /container .* does not exist/);
    const again2 = await o.cmd('delete', id);
    t.equal(again2.code, 1, 'delete of a container that is not there fails');
    t.match(again2.stderr, /container .* does not exist/);
    t.equal((await o.cmd('delete', '--force', id)).code, 0, "but with --force succeeds, as runc (podman's cleanup relies on it)");
    t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left');
  });

  t.test('kill, kill --all, pause/resume, list, ps', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const log = path.join(dir, 'out.log');
    const bundle = await makeBundle(t, 'trap "echo got-term; exit 0" TERM; sleep 1000 & sleep 1000 & while :; do sleep 0.05; echo tick >> /dev/shm/ticks; done');
    const id = uniqueId('kill');
    t.equal(await o.detached(log, 'run', '--detach', '--bundle', bundle, id), 0);
    t.equal((await o.state(id)).status, 'running');

    const list = await o.cmd('list', '--format', 'json');
    t.same(JSON.parse(list.stdout).map((s: { id: string; status: string }) => [s.id, s.status]), [[id, 'running']]);
    const table = await o.cmd('list');
    t.match(table.stdout, new RegExp(`^ID\\s+PID\\s+STATUS\\s+BUNDLE\\s+CREATED\\s+OWNER\\n${id}\\s+\\d+\\s+running`));
    const ps = await o.cmd('ps', '--format', 'json', id);
    t.ok(JSON.parse(ps.stdout).length >= 3, 'init and two sleeps in the cgroup');

    t.equal((await o.cmd('pause', id)).code, 0);
    t.equal((await o.state(id)).status, 'paused');
    const del = await o.cmd('delete', id);
    t.match(del.stderr, /not stopped: paused/);
    t.equal((await o.cmd('resume', id)).code, 0);
    t.equal((await o.state(id)).status, 'running');

    t.equal((await o.cmd('kill', id)).code, 0, 'SIGTERM by default');
    await waitFor(async () => (await o.state(id)).status === 'stopped', 'stopped after TERM');
    t.match(await readFile(log, 'utf8'), /got-term/);
    const late = await o.cmd('kill', id, 'KILL');
    t.equal(late.code, 1);
    t.match(late.stderr, /container not running: .* is stopped, nothing to signal/, "runc's words first: containerd's shim parses them");
    t.equal((await o.cmd('kill', '--all', id, 'KILL')).code, 0, 'kill --all of a stopped container: nothing to do, as runc');
    t.equal((await o.cmd('delete', id)).code, 0);

    const id2 = uniqueId('killall');
    const noPid = await makeBundle(t, 'sleep 1000 & sleep 1000', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    t.equal(await o.detached(log, 'run', '-d', '-b', noPid, id2), 0);
    await waitFor(async () => JSON.parse((await o.cmd('ps', '--format', 'json', id2)).stdout).length === 2, 'orphans left in the cgroup');
    t.equal((await o.cmd('kill', '--all', id2, '9')).code, 0);
    await waitFor(async () => JSON.parse((await o.cmd('ps', '--format', 'json', id2)).stdout).length === 0, 'kill --all empties the cgroup');
    t.equal((await o.cmd('delete', id2)).code, 0);
  });

  t.test('exec joins the container: namespaces, cgroup, user, env, cwd, exit code', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const bundle = await makeBundle(t, 'echo $$ > /dev/shm/init; exec sleep 1000', (c) => (c.hostname = 'exec-host'));
    const id = uniqueId('exec');
    t.equal(await o.detached(path.join(dir, 'log'), 'run', '-d', '-b', bundle, id), 0);
    const r = await o.cmd('exec', '--env', 'X=1', '--cwd', '/tmp', id, 'sh', '-c', 'hostname; cat /dev/shm/init; echo $$ $X; pwd; grep ^0:: /proc/self/cgroup; exit 6');
    t.equal(r.code, 6, r.stderr);
    const [host, init, me, cwd, cg] = r.stdout.split('\n');
    t.equal(host, 'exec-host', 'uts namespace');
    t.equal(init, '1', 'sees the container\'s /dev/shm (mount + ipc)');
    t.match(me, /^\d+ 1$/, 'own pid in the container pid namespace, env added');
    t.not(me!.split(' ')[0], '1');
    t.equal(cwd, '/tmp');
    t.equal(cg, '0::/', 'in the container cgroup (seen through its cgroup namespace)');

    const u = await o.cmd('exec', '-u', '1000:1000', '-g', '5', id, 'sh', '-c', 'grep -E "^(Uid|Groups)" /proc/self/status');
    t.match(u.stdout, /Uid:\s+1000\s+1000/);
    t.match(u.stdout, /Groups:\s+5/);

    const procFile = path.join(dir, 'process.json');
    await writeFile(procFile, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo from-process-json $Y'], env: ['Y=2', 'PATH=/bin:/usr/bin'], cwd: '/' }));
    const p = await o.cmd('exec', '--process', procFile, id);
    t.equal(p.stdout, 'from-process-json 2\n');

    const pidFile = path.join(dir, 'exec.pid');
    // the detached process keeps the caller's stdio: give it a file, not our pipes
    t.equal(await o.detached(path.join(dir, 'exec.log'), 'exec', '-d', '--pid-file', pidFile, id, 'sleep', '1000'), 0);
    const epid = Number(await readFile(pidFile, 'utf8'));
    t.ok(existsSync(`/proc/${epid}`), 'detached exec keeps running');

    const missing = await o.cmd('exec', id, '/bin/nope');
    t.equal(missing.code, 1);
    t.match(missing.stderr, /exec "\/bin\/nope": ENOENT/);
    await o.cmd('delete', '-f', id);
    t.notOk(existsSync(`/proc/${epid}`) && (await readFile(`/proc/${epid}/stat`, 'utf8').catch(() => '')).includes('sleep'), 'delete -f killed the exec\'d process too');
  });

  t.test('failures: create rolls back; a start failure leaves a stopped container', async (t) => {
    const before = await snapshotHost();
    const o = await oci(t);
    const dir = await tempDir(t);
    const bad = await makeBundle(t, 'true', (c) => c.mounts!.push({ destination: '/mnt', type: 'nosuchfs', source: 'x' }));
    const id = uniqueId('bad');
    const r = await o.cmd('--log', path.join(dir, 'log.json'), '--log-format', 'json', 'create', '-b', bad, id);
    t.equal(r.code, 1);
    t.match(r.stderr, /mount \/mnt: ENODEV \[mounts\[7\]\]/);
    const logged = JSON.parse((await readFile(path.join(dir, 'log.json'), 'utf8')).trim());
    t.equal(logged.level, 'error');
    t.match(logged.msg, /mount \/mnt: ENODEV/);
    t.notOk(existsSync(path.join(o.root, 'containers', id)), 'no state left');

    const nope = await makeBundle(t, 'x', (c) => (c.process!.args = ['/bin/nope']));
    const id2 = uniqueId('nope');
    t.equal(await o.detached(path.join(dir, 'out'), 'create', '-b', nope, id2), 0, 'exec happens at start, so create succeeds');
    const st = await o.cmd('start', id2);
    t.equal(st.code, 1);
    t.match(st.stderr, /exec "\/bin\/nope": ENOENT \[process\.args\[0\]\]/);
    await waitFor(async () => (await o.state(id2)).status === 'stopped', 'stopped after a failed start');
    t.equal((await o.cmd('delete', id2)).code, 0);

    const dup = await makeBundle(t, 'sleep 100');
    const id3 = uniqueId('dup');
    t.equal(await o.detached(path.join(dir, 'out'), 'create', '-b', dup, id3), 0);
    const twice = await o.cmd('create', '-b', dup, id3);
    t.match(twice.stderr, /container with id .* already exists/);
    t.equal((await o.cmd('delete', id3)).code, 0, 'a created container can be deleted without --force');
    t.same(await snapshotHost(), before);
  });

  t.test('the monitor: gone after start (the caller reaps), killed before start (delete still cleans)', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const bundle = await makeBundle(t, 'exec sleep 1000');
    const monitorOf = async (id: string): Promise<number> => JSON.parse(await readFile(path.join(o.root, 'containers', id, 'state.json'), 'utf8')).monitorPid;
    const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');

    const id = uniqueId('handoff');
    t.equal(await o.detached(path.join(dir, 'out'), 'run', '-d', '-b', bundle, id), 0);
    const m1 = await monitorOf(id);
    await waitFor(async () => !alive(m1), 'monitor leaves after start');
    t.equal((await o.state(id)).status, 'running', 'the container runs on without it');
    t.equal((await o.cmd('kill', id, 'KILL')).code, 0);
    await waitFor(async () => (await o.state(id)).status === 'stopped', 'stopped');
    t.equal((await o.cmd('delete', id)).code, 0);

    const id2 = uniqueId('orphan');
    t.equal(await o.detached(path.join(dir, 'out'), 'create', '-b', bundle, id2), 0);
    const m2 = await monitorOf(id2);
    t.ok(alive(m2), 'the monitor holds a created container');
    process.kill(m2, 'SIGKILL');
    await waitFor(async () => !alive(m2), 'monitor killed');
    // the created process dies with its monitor (parent-death signal before exec)
    await waitFor(async () => (await o.state(id2)).status === 'stopped', 'created container stopped with its monitor');
    const st = await o.cmd('start', id2);
    t.equal(st.code, 1);
    t.match(st.stderr, /cannot start a container that is stopped/);
    t.equal((await o.cmd('delete', id2)).code, 0);
  });

  t.test('stale state: a reused pid is not mistaken for the container', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const bundle = await makeBundle(t, 'exec sleep 1000');
    const id = uniqueId('stale');
    t.equal(await o.detached(path.join(dir, 'out'), 'run', '-d', '-b', bundle, id), 0);
    const file = path.join(o.root, 'containers', id, 'state.json');
    const fast = path.join(o.root, 'containers', id, 'fast'); // the C front end's copy
    const rec = JSON.parse(await readFile(file, 'utf8'));
    const fastText = await readFile(fast, 'utf8');
    // pretend the container was our own pid: right number, wrong start time
    await writeFile(file, JSON.stringify({ ...rec, pid: process.pid }));
    await writeFile(fast, fastText.replace(/^pid=\d+$/m, `pid=${process.pid}`));
    t.equal((await o.state(id)).status, 'stopped');
    t.equal((await o.cmd('kill', id, 'KILL')).code, 1, 'kill refuses to signal a stranger');
    t.equal((await runCmd(path.join(repoRoot, 'bin', 'podrun'), ['oci', '--root', o.root, 'state', id])).stdout.includes('"stopped"'), true, 'the Node CLI agrees');
    await writeFile(file, JSON.stringify(rec));
    await writeFile(fast, fastText);
    t.equal((await o.state(id)).status, 'running');
    t.equal((await o.cmd('delete', '-f', id)).code, 0);
  });

  t.test('a create interrupted by kill -9 is cleaned by delete', async (t) => {
    const before = await snapshotHost();
    const o = await oci(t);
    const bundle = await makeBundle(t, 'true');
    // the kills spread over what one whole create takes here
    const whole = uniqueId('whole');
    const t0 = Date.now();
    t.equal(await o.detached(path.join(o.root, 'whole.out'), 'create', '-b', bundle, whole), 0); // its container holds the creator's stdio
    const full = Date.now() - t0;
    t.equal((await o.cmd('delete', '--force', whole)).code, 0);
    for (let i = 0; i < 10; i++) {
      const id = uniqueId('crash');
      const at = Math.round((full * (i + 0.5)) / 10);
      const child = spawn(podrunOci, ['--root', o.root, 'create', '-b', bundle, id], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r)); // before the kill: it may have finished already
      await sleep(at);
      child.kill('SIGKILL');
      await exited;
      if (existsSync(path.join(o.root, 'containers', id))) {
        const d = await o.cmd('delete', '--force', id);
        t.equal(d.code, 0, `delete after a crash at ${at} of ${full} ms: ${d.stderr}`);
      }
      t.notOk(existsSync(path.join(o.root, 'containers', id)));
    }
    await sleep(100);
    t.same(await snapshotHost(), before, 'nothing left behind');
  });

  t.test('terminal: the pty master goes to --console-socket, the pty is the controlling tty', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const receiver = path.join(repoRoot, 'test', 'support', 'console-receiver.py');
    const listen = (sock: string, typed = ''): { ready: Promise<void>; done: Promise<CmdResult> } => {
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      const done = runCmd('python3', [receiver, sock, typed], { onStdout: (s) => s.includes('listening') && ready() });
      return { ready: isReady, done };
    };
    const bundle = await makeBundle(t, 'tty; stty size; test -t 0 && echo stdin-is-tty; ls -l /dev/console | cut -c1; read line; echo "got $line"', (c) => {
      c.process!.terminal = true;
      c.process!.consoleSize = { height: 24, width: 100 };
    });
    const id = uniqueId('tty');
    const sock = path.join(dir, 'console.sock');
    const rx = listen(sock, 'typed-in');
    await rx.ready;
    t.equal(await o.detached(path.join(dir, 'out'), 'create', '--console-socket', sock, '-b', bundle, id), 0);
    t.equal((await o.cmd('start', id)).code, 0);
    const r = await rx.done;
    t.match(r.stdout, /name=\/dev\/ptmx/);
    t.match(r.stdout, /\/dev\/pts\/0\r?\n24 100\r?\nstdin-is-tty\r?\nc\r?\n/, 'tty, size, /dev/console is the pty');
    t.match(r.stdout, /got typed-in/, 'input typed into the master reaches the process');
    await waitFor(async () => (await o.state(id)).status === 'stopped', 'stopped');
    t.equal((await o.cmd('delete', id)).code, 0);

    // exec --tty into a running container
    const plain = await makeBundle(t, 'exec sleep 1000');
    const id2 = uniqueId('ttyexec');
    t.equal(await o.detached(path.join(dir, 'out'), 'run', '-d', '-b', plain, id2), 0);
    const sock2 = path.join(dir, 'exec.sock');
    const rx2 = listen(sock2);
    await rx2.ready;
    const e = await o.cmd('exec', '--tty', '--console-socket', sock2, id2, 'sh', '-c', 'tty; exit 2');
    t.equal(e.code, 2, e.stderr);
    t.match((await rx2.done).stdout, /\/dev\/pts\/\d+/);
    t.equal((await o.cmd('delete', '-f', id2)).code, 0);
  });

  t.test('hooks: order, namespaces, state on stdin, failure rules', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const log = path.join(dir, 'hooks.log');
    // host-side hooks append "<kind> <status> <hostname>" to one log
    const hostHook = (kind: string) => ({ path: '/bin/sh', args: ['sh', '-c', `read -r s; echo "${kind} $(echo "$s" | grep -o '"status":"[a-z]*"') $(hostname)" >> ${log}`] });
    const bundle = await makeBundle(t, 'cat /dev/shm/start-state; exec sleep 1000', (c) => {
      c.hostname = 'hooked';
      c.hooks = {
        prestart: [hostHook('prestart')],
        createRuntime: [hostHook('createRuntime')],
        createContainer: [hostHook('createContainer')],
        // runs inside the container after pivot_root: /bin/sh and /dev/shm are the container's
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /dev/shm/start-state'] }],
        // a failing poststart/poststop hook is a warning, and the ones after it still run (runtime-spec)
        poststart: [{ path: '/bin/false', args: ['false'] }, hostHook('poststart')],
        poststop: [{ path: '/bin/false', args: ['false'] }, hostHook('poststop')],
      };
    });
    const id = uniqueId('hooks');
    const out = path.join(dir, 'out');
    t.equal(await o.detached(out, 'create', '-b', bundle, id), 0, await readFile(out, 'utf8').catch(() => ''));
    const st = await o.cmd('--log', path.join(dir, 'start.log'), '--log-format', 'json', 'start', id);
    t.equal(st.code, 0, st.stderr);
    const warned = JSON.parse((await readFile(path.join(dir, 'start.log'), 'utf8')).trim());
    t.equal(warned.level, 'warning');
    t.match(warned.msg, /hooks\.poststart\[0\] \/bin\/false: exited with 1/, 'a failed poststart hook is only a warning (in --log, not in the container\'s stderr)');
    await waitFor(async () => (await readFile(out, 'utf8')).includes('"status":"created"'), 'container output');
    t.match(await readFile(out, 'utf8'), new RegExp(`"id":"${id}".*"status":"created"`), 'startContainer ran in the container with the state on stdin');
    const del = await o.cmd('delete', '-f', id);
    t.equal(del.code, 0);
    t.match(del.stderr, /level=warning msg=".*hooks\.poststop\[0\] \/bin\/false: exited with 1/, "without --log, a warning goes to stderr in runc's format");
    const host = (await runCmd('hostname', [])).stdout.trim();
    t.equal(
      await readFile(log, 'utf8'),
      [
        `prestart "status":"creating" ${host}`,
        `createRuntime "status":"creating" ${host}`,
        'createContainer "status":"creating" hooked',
        `poststart "status":"running" ${host}`,
        `poststop "status":"stopped" ${host}`,
        '',
      ].join('\n'),
      'order, state and namespace (createContainer in the container UTS namespace) of every hook',
    );

    const before = await snapshotHost();
    const failing = await makeBundle(t, 'true', (c) => (c.hooks = { createRuntime: [{ path: '/bin/false', args: ['false'] }] }));
    const f = await o.cmd('create', '-b', failing, uniqueId('hookfail'));
    t.equal(f.code, 1);
    t.match(f.stderr, /hooks\.createRuntime\[0\] \/bin\/false: exited with 1/);
    const slow = await makeBundle(t, 'true', (c) => (c.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }] }));
    const s2 = await o.cmd('create', '-b', slow, uniqueId('hookslow'));
    t.match(s2.stderr, /hooks\.prestart\[0\] \/bin\/sleep: timed out after 1 s/);
    t.same(await snapshotHost(), before, 'failed creates leave nothing behind');

    const badStart = await makeBundle(t, 'true', (c) => (c.hooks = { startContainer: [{ path: '/bin/false', args: ['false'] }] }));
    const id3 = uniqueId('hookstart');
    t.equal(await o.detached(out, 'create', '-b', badStart, id3), 0);
    const bs = await o.cmd('start', id3);
    t.equal(bs.code, 1);
    t.match(bs.stderr, /hooks\.startContainer\[0\] \/bin\/false: exited with 1/);
    await waitFor(async () => (await o.state(id3)).status === 'stopped', 'a failed startContainer hook stops the container');
    t.equal((await o.cmd('delete', id3)).code, 0);
  });

  t.test('--container-log: the monitor stays, writes CRI-format logs and records the exit', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const log = path.join(dir, 'ctr.log');
    const bundle = await makeBundle(t, 'echo out-1; echo err-1 >&2; head -c 20000 /dev/zero | tr "\\0" x; echo; printf no-newline; exit 7');
    const id = uniqueId('crilog');
    t.equal(await o.detached(path.join(dir, 'out'), 'run', '-d', '--container-log', log, '-b', bundle, id), 0);
    await waitFor(async () => (await o.state(id)).status === 'stopped', 'stopped');
    const rec = JSON.parse(await readFile(path.join(o.root, 'containers', id, 'state.json'), 'utf8'));
    await waitFor(async () => !existsSync(`/proc/${rec.monitorPid}`) || readFileSync(`/proc/${rec.monitorPid}/stat`, 'utf8').includes(') Z'), 'monitor leaves after the exit');
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const cri = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) (F|P) (.*)$/;
    t.ok(lines.every((l) => cri.test(l)), 'every line is <RFC3339Nano> <stream> <F|P> <text>');
    const parsed = lines.map((l) => cri.exec(l)!.slice(1));
    t.same(parsed.find((p) => p[2] === 'out-1'), ['stdout', 'F', 'out-1']);
    t.same(parsed.find((p) => p[2] === 'err-1'), ['stderr', 'F', 'err-1']);
    const long = parsed.filter((p) => p[0] === 'stdout' && /^x+$/.test(p[2]!));
    t.equal(long.map((p) => p[2]!.length).reduce((a, b) => a + b, 0), 20000, 'a 20000-byte line is kept whole');
    t.same(long.map((p) => p[1]), ['P', 'F'], 'split into a partial and a final piece');
    t.same(parsed[parsed.length - 1], ['stdout', 'P', 'no-newline'], 'the last line without a newline is partial');
    const exit = (await readFile(path.join(o.root, 'containers', id, 'exit'), 'utf8')).trim().split(' ');
    t.equal(exit[0], '7', 'exit code recorded');
    t.equal((await o.cmd('delete', id)).code, 0);
  });

  t.test('events --stats reads the container cgroup', async (t) => {
    const o = await oci(t);
    const dir = await tempDir(t);
    const bundle = await makeBundle(t, 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 1000');
    const id = uniqueId('events');
    t.equal(await o.detached(path.join(dir, 'out'), 'run', '-d', '-b', bundle, id), 0);
    await sleep(300);
    const r = await o.cmd('events', '--stats', id);
    t.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    t.equal(e.type, 'stats');
    t.equal(e.id, id);
    t.ok(e.data.cpu.usage.total > 0, 'cpu time was spent in the container cgroup');
    t.ok(Array.isArray(e.data['podrun.unavailableControllers']));
    t.equal((await o.cmd('delete', '-f', id)).code, 0);
  });

  t.test('features and unsupported flags', async (t) => {
    const o = await oci(t);
    const f = await o.cmd('features');
    const feat = JSON.parse(f.stdout);
    t.equal(feat.ociVersionMax, '1.2.0');
    t.ok(feat.linux.namespaces.includes('user'));
    t.equal(feat.linux.cgroup.v2, true);
    const sd = await o.cmd('--systemd-cgroup', 'list');
    t.equal(sd.code, 1);
    t.match(sd.stderr, /systemd cgroup driver is not supported/);
    const tty = await o.cmd('exec', '-t', 'x', 'sh');
    t.match(tty.stderr, /container x does not exist/);
  });
}
