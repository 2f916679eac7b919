/** The library as a test author uses it (issue 19), as root: the Podrun client and its Pod handles — exec, logs,
 * waits, ports, copies, events, owned pods removed when their process dies — each tried as an attacker would
 * where it touches paths, fds or the network: a forward reaches only the pod, a copy out of a hostile container
 * writes nothing outside its destination and no setuid file. */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t, { type Test } from 'tap';
import { Podrun, PodrunError, Wait, type PodEvent } from '../../src/index';
import { podEnv, repoRoot, runCmd, snapshotHost, waitFor } from '../helpers';

const image = 'localhost/podrun/busybox';

async function env(t: Test) {
  const base = await podEnv(t);
  const warnings: string[] = [];
  const podrun = new Podrun({ root: base.runRoot, dataRoot: base.dataRoot, onWarning: (m) => warnings.push(m) });
  return { ...base, client: podrun, warnings };
}

const errorOf = async (p: Promise<unknown>): Promise<PodrunError> => {
  try {
    await p;
  } catch (e) {
    return e as PodrunError;
  }
  throw new Error('expected a failure');
};

t.test('start, exec, logs and streams through the client', async (t) => {
  const { client } = await env(t);
  const pod = await client.pod('life')
    .container({ name: 'main', image, command: ['sh', '-c', 'echo one; echo two; echo three >&2; exec sleep 300'], env: { GREETING: 'hi there' } })
    .start({ waitFor: Wait.forLogMessage(/^three$/), owned: false });
  t.equal(pod.name, 'life');
  t.equal(client.get('life').id, pod.id, 'get() by name');
  t.equal(client.list().length, 1);

  t.same(await pod.exec(['sh', '-c', 'echo "$GREETING"; echo oops >&2; exit 4']), { exitCode: 4, stdout: 'hi there\n', stderr: 'oops\n', timedOut: false }, 'stdout and stderr apart, the exit code');
  const bytes = await pod.exec(['printf', '\\377\\000'], { encoding: 'buffer' });
  t.same([...bytes.stdout], [255, 0], 'encoding buffer keeps bytes');
  t.equal((await pod.exec(['cat'], { stdin: 'fed in' })).stdout, 'fed in', 'stdin from a string');
  const feed = new PassThrough();
  feed.end('streamed');
  t.equal((await pod.exec(['wc', '-c'], { stdin: feed })).stdout.trim(), '8', 'stdin from a stream');
  t.equal((await pod.exec(['sh', '-c', 'echo $X; pwd; id -u'], { env: { X: 'y' }, cwd: '/tmp', user: { uid: 1234, gid: 1234 } })).stdout, 'y\n/tmp\n1234\n', 'env, cwd, user');
  const slow = await pod.exec(['sleep', '30'], { timeoutMs: 200 });
  t.same({ exitCode: slow.exitCode, timedOut: slow.timedOut }, { exitCode: 137, timedOut: true }, 'killed at its timeout');

  const session = pod.execStream(['sh', '-c', 'read line; echo "got $line"'], { stdin: true });
  let out = '';
  session.stdout.on('data', (d: Buffer) => (out += d));
  session.stdin!.end('ping\n');
  t.equal((await session.result).status, 0);
  await waitFor(async () => out === 'got ping\n', 'streamed output');

  t.equal(await pod.logs(), 'one\ntwo\nthree\n', 'the log as text');
  t.equal(await pod.logs({ tail: 1 }), 'three\n');
  let streamed = '';
  for await (const chunk of pod.logStream()) streamed += chunk;
  t.equal(streamed, 'one\ntwo\nthree\n', 'the log as a Readable');
  const lines: string[] = [];
  for await (const line of pod.logLines({ follow: true })) {
    lines.push(line);
    if (lines.length === 2) break; // leaving the loop stops the follow
  }
  t.same(lines, ['one', 'two'], 'lines, followed; break stops it');
  await pod.remove();
  t.same(client.list(), [], 'removed');
  t.equal((await errorOf(pod.exec(['true']))).code, 'ENOTFOUND', 'a removed pod says so');
});

t.test('wait strategies: met, failing early with the last log lines, timing out', async (t) => {
  const { client } = await env(t);
  const web = await client.pod('waits')
    .container({
      name: 'web', image, ports: [8080, 8081],
      command: ['sh', '-c', 'mkdir -p /www; echo ok > /www/health; sleep 0.3; echo ready; echo ready; httpd -p 8081 -h /www; exec httpd -f -p 8080 -h /www'],
      spec: { readinessProbe: { exec: { command: ['test', '-f', '/www/health'] }, periodSeconds: 1 } },
    })
    .start({ owned: false, waitFor: Wait.forAll([Wait.forLogMessage('ready', { times: 2 }), Wait.forListeningPort(), Wait.forHttp('/health', 8080, { body: 'ok' }), Wait.forReady(), Wait.forSuccessfulCommand(['test', '-f', '/www/health'])]) });
  t.ok(web.podStatus().conditions.some((c) => c.type === 'Ready' && c.status === 'True'), 'Ready after forReady');
  await web.waitFor(Wait.forHttp('/missing', 8080, { status: 404 }));
  const e404 = await errorOf(web.waitFor(Wait.forHttp('/missing', 8080), { timeoutMs: 300 }));
  t.equal(e404.code, 'ETIMEOUT');
  t.match(e404.message, /^pod waits: HTTP GET \/missing on port 8080 to answer 200 did not happen within 300 ms\nlast log lines:\n\[web\] ready\n\[web\] ready/);
  await web.remove();

  const noPorts = await client.pod('noports').container({ image, command: ['sleep', '300'] }).start({ owned: false });
  const e = await errorOf(noPorts.waitFor(Wait.forListeningPort()));
  t.equal(e.code, 'EINVALID_CONFIG');
  t.match(e.message, /needs containers\[\]\.ports/);
  await noPorts.remove();

  // a container that dies while it is waited for: EEXITED at once, not the timeout; the start removes the pod
  const started = Date.now();
  const crash = await errorOf(client.pod('crash').restartPolicy('Never')
    .container({ name: 'app', image, command: ['sh', '-c', 'echo "config missing" >&2; exit 3'] })
    .start({ waitFor: Wait.forLogMessage('listening'), timeoutMs: 20_000 }));
  t.equal(crash.code, 'EEXITED');
  t.match(crash.message, /^pod crash: waiting for a log line "listening": the pod failed[^\n]*\nlast log lines:\n\[app\] config missing$/);
  t.ok(Date.now() - started < 10_000, 'failed early');
  t.same(client.list(), [], 'a pod whose wait failed is removed');
  const loop = await errorOf(client.pod('loop')
    .container({ name: 'app', image, command: ['sh', '-c', 'echo starting; exit 1'] })
    .start({ waitFor: Wait.forListeningPort(80), timeoutMs: 20_000 }));
  t.equal(loop.code, 'EEXITED');
  t.match(loop.message, /container app crashed \(exit code 1, Error\) and waits to restart\nlast log lines:\n\[app\] starting/);
  t.same(client.list(), []);
});

t.test('pod.port(): a forward from 127.0.0.1 into the pod, reaching only the pod', async (t) => {
  const { client, warnings } = await env(t);
  // a server on the host's loopback, on the port the pod will be asked for: the forward must not reach it
  const host = net.createServer((s) => s.end('host secret\n'));
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  t.teardown(() => host.close());
  const hostPort = (host.address() as net.AddressInfo).port;
  const pod = await client.pod('ports')
    .container({ image, command: ['sh', '-c', 'mkdir /www; echo "pod page" > /www/index.html; exec httpd -f -p 8080 -h /www'], ports: [8080] })
    .start({ owned: false, waitFor: Wait.forHttp('/', 8080) });
  const a = await pod.port(8080);
  t.equal(a.host, '127.0.0.1');
  t.not(a.port, 8080);
  t.equal(await (await fetch(a.url('/'))).text(), 'pod page\n', 'the pod\'s server through the forward');
  t.equal((await pod.port(8080)).port, a.port, 'one forward per port');
  t.equal(await Promise.all([1, 2, 3, 4].map(async () => (await fetch(a.url('/'))).text())).then((x) => x.join('')), 'pod page\n'.repeat(4), 'concurrent connections');

  const other = await pod.port(hostPort);
  const got = await new Promise<string>((resolve) => {
    let data = '';
    const s = net.connect(other.port, '127.0.0.1');
    s.on('data', (d) => (data += d));
    s.on('close', () => resolve(data));
    s.on('error', () => resolve(data));
  });
  t.equal(got, '', 'the host\'s 127.0.0.1 is not the pod\'s: nothing of the host server comes through');
  await waitFor(async () => warnings.some((w) => /forwarding to port \d+ in the pod: connect: Connection refused/.test(w)), 'the refusal said');

  t.equal((await errorOf(pod.port(0))).code, 'EINVALID_CONFIG');
  await pod.remove();
  const closed = await new Promise<string>((resolve) => {
    const s = net.connect(a.port, '127.0.0.1', () => resolve('connected'));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.equal(closed, 'ECONNREFUSED', 'the forward closes with the pod');
});

/** a tar archive made by hand, as a hostile container would hand one out */
function hostileTar(entries: Array<{ name: string; type?: string; mode?: number; body?: string; linkname?: string }>): Buffer {
  const { Header } = require('tar') as typeof import('tar');
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const block = Buffer.alloc(512);
    new Header({ path: e.name, type: (e.type ?? 'File') as never, mode: e.mode ?? 0o644, size: body.length, linkpath: e.linkname, mtime: new Date(), uid: 0, gid: 0 }).encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

t.test('copyTo / copyFrom, and a hostile container\'s archive', async (t) => {
  const { client, warnings } = await env(t);
  const pod = await client.pod('copies').container({ image, command: ['sleep', '300'] }).start({ owned: false });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-copy-'));
  t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }));

  await pod.copyTo('/etc/app/settings.conf', { content: 'a=1\n', mode: 0o600 });
  t.equal((await pod.exec(['stat', '-c', '%a %s', '/etc/app/settings.conf'])).stdout, '600 4\n', 'bytes, mode, parents made');
  fs.writeFileSync(path.join(scratch, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  await pod.copyTo('/usr/local/bin/run-it', { path: path.join(scratch, 'run.sh') });
  t.equal((await pod.exec(['run-it'])).stdout, 'ran\n', 'a host file, executable');
  fs.mkdirSync(path.join(scratch, 'tree/sub'), { recursive: true });
  fs.writeFileSync(path.join(scratch, 'tree/sub/f.txt'), 'deep\n');
  await pod.copyTo('/data', { path: path.join(scratch, 'tree') });
  t.equal((await pod.exec(['cat', '/data/sub/f.txt'])).stdout, 'deep\n', 'a directory\'s contents under the target');
  const archive = new PassThrough();
  archive.end(hostileTar([{ name: 'from-tar.txt', body: 'tarred\n' }]));
  await pod.copyTo('/data', { tar: archive });
  t.equal((await pod.exec(['cat', '/data/from-tar.txt'])).stdout, 'tarred\n', 'a tar stream extracted in the target');
  t.equal((await pod.readFile('/data/sub/f.txt')).toString(), 'deep\n', 'readFile');
  await pod.copyFromTo('/data', path.join(scratch, 'out'));
  t.equal(fs.readFileSync(path.join(scratch, 'out/data/sub/f.txt'), 'utf8'), 'deep\n', 'a directory copied out');
  t.equal((await errorOf(pod.copyTo('relative/x', { content: 'x' }))).field, 'target');
  t.equal((await errorOf(pod.copyTo('/', { content: 'x' }))).field, 'target');
  t.equal((await errorOf(pod.readFile('/nope'))).code, 'ENOTFOUND');

  // the container answers copyFrom with an archive of its choosing: its own `tar` replaced by one that lies
  const victim = path.join(scratch, 'victim');
  fs.mkdirSync(victim);
  const evil = hostileTar([
    { name: 'data/ok.txt', body: 'fine\n' },
    { name: '../escaped.txt', body: 'dotdot\n' },
    { name: `${victim}/absolute.txt`, body: 'absolute\n' },
    { name: 'data/link', type: 'SymbolicLink', linkname: victim },
    { name: 'data/link/through.txt', body: 'through a link\n' },
    { name: 'data/suid', mode: 0o4755, body: '#!/bin/sh\nid\n' },
    { name: 'data/hard', type: 'Link', linkname: '../../../../../../etc/hostname' },
    { name: 'data/dev', type: 'CharacterDevice' },
  ]);
  await pod.copyTo('/evil.tar', { content: evil });
  await pod.copyTo('/usr/local/bin/tar', { content: '#!/bin/sh\ncat /evil.tar\n', mode: 0o755 });
  const dest = path.join(scratch, 'dest');
  await pod.copyFromTo('/data', dest);
  t.equal(fs.readFileSync(path.join(dest, 'data/ok.txt'), 'utf8'), 'fine\n', 'the honest entry is there');
  t.same(fs.readdirSync(victim), [], 'nothing written through the symlink or at the absolute path');
  t.notOk(fs.existsSync(path.join(scratch, 'escaped.txt')), 'nothing written above the destination');
  t.equal(fs.statSync(path.join(dest, 'data/suid')).mode & 0o7777, 0o755, 'no setuid bit on the host');
  t.notOk(fs.existsSync(path.join(dest, 'data/hard')), 'no hard link out');
  t.notOk(fs.existsSync(path.join(dest, 'data/dev')), 'no device');
  t.equal(fs.statSync(path.join(dest, 'data/ok.txt')).uid, process.getuid!(), 'owned by us');
  t.ok(warnings.some((w) => /skipped .*data\/dev \(CharacterDevice\)/.test(w)), 'what was skipped is said');
  await pod.remove();
});

t.test('watch: events from the monitor, ending with the containers\' end and Removed', async (t) => {
  const { client, podrun } = await env(t);
  const pod = await client.pod('watched').restartPolicy('Never')
    .container({ name: 'quick', image, command: ['sh', '-c', 'sleep 0.3; exit 5'] })
    .container({ name: 'slow', image, command: ['sleep', '300'] })
    .start({ owned: false });
  const events: Array<PodEvent & { time: string }> = [];
  const done = (async () => {
    for await (const e of pod.watch()) events.push(e);
  })();
  await waitFor(async () => events.some((e) => e.type === 'ContainerTerminated' && e.container === 'quick'), 'quick to end', 5000);
  t.match(events.find((e) => e.type === 'ContainerTerminated'), { container: 'quick', exitCode: 5, reason: 'Error' }, 'a container\'s own end, as it happens');
  const rm = await podrun('rm', '-f', 'watched'); // another process removes it
  t.equal(rm.code, 0, rm.stderr);
  await done;
  const tail = events.slice(-2);
  t.match(tail[0], { type: 'ContainerTerminated', container: 'slow' }, 'the running container\'s end is reported');
  t.equal(tail[1].type, 'Removed', 'and the removal, last');
  const ac = new AbortController();
  const other = await client.pod('watched2').container({ image, command: ['sleep', '300'] }).start({ owned: false });
  const seen: string[] = [];
  setTimeout(() => ac.abort(), 300);
  for await (const e of other.watch({ signal: ac.signal })) seen.push(e.type);
  t.same(seen, ['PhaseChanged', 'ContainerStarted', 'ContainerReady'], 'the current state first; a signal ends the watch');
  await other.remove();
});

t.test('owned pods are removed when their process dies, even by SIGKILL', async (t) => {
  const { runRoot, dataRoot, client, podrun } = await env(t);
  const script = path.join(dataRoot, 'owner.js');
  fs.writeFileSync(script, `
const { Podrun } = require(${JSON.stringify(path.join(repoRoot, 'dist/src/index.js'))});
(async () => {
  const podrun = new Podrun({ root: process.argv[2], dataRoot: process.argv[3] });
  await podrun.pod('owned').container({ image: '${image}', command: ['sleep', '300'] }).start();
  await podrun.pod('kept').container({ image: '${image}', command: ['sleep', '300'] }).start({ owned: false });
  console.log('up');
  setInterval(() => {}, 1000);
})().catch((e) => { console.error(e); process.exit(1); });
`);
  let ownerPid = 0;
  const owner = runCmd(process.execPath, [script, runRoot, dataRoot], { onSpawn: (pid) => (ownerPid = pid) });
  await waitFor(async () => (await podrun('ps', '-q')).stdout.split('\n').filter(Boolean).length === 2, 'both pods up', 10_000);
  const killedAt = Date.now();
  process.kill(ownerPid, 'SIGKILL');
  await owner;
  await waitFor(async () => client.list().map((p) => p.name).join() === 'kept', 'the owned pod to go', 3000);
  t.ok(Date.now() - killedAt < 3000, `owned pod removed ${Date.now() - killedAt} ms after SIGKILL`);
  t.equal(client.get('kept').podStatus().phase, 'Running', 'a pod started with owned: false stays');

  // `podrun gc` removes an owned pod whose owner is gone, should the reaper itself have been killed
  const pod = await client.pod('mine').container({ image, command: ['sleep', '300'] }).start();
  const recFile = path.join(runRoot, 'pods', pod.id, 'pod.json');
  const rec = JSON.parse(fs.readFileSync(recFile, 'utf8')) as { owner: { pid: number; startTime: number } };
  t.equal(rec.owner.pid, process.pid, 'this process owns it');
  rec.owner = { pid: ownerPid, startTime: 1 }; // an owner that has ended
  fs.writeFileSync(recFile, JSON.stringify(rec));
  const gc = await podrun('gc');
  t.match(gc.stdout, /removed pod mine \([0-9a-f]+\): the process that owned it has ended/);
  await client.remove('kept');
});

t.test('await using removes the pod at the end of the scope; nothing is left', async (t) => {
  const before = await snapshotHost();
  const { client } = await env(t);
  let id = '';
  {
    await using pod = await client.pod('scoped').container({ image, command: ['sleep', '300'] }).start({ owned: false });
    id = pod.id;
    t.equal(client.list().length, 1);
  }
  t.same(client.list(), [], `pod ${id} removed when its scope ended`);
  const after = await snapshotHost();
  t.same(after.mounts, before.mounts, 'no mounts left');
  t.same(after.cgroups, before.cgroups, 'no cgroups left');
});

t.test('ESM and CommonJS entry points, and the examples', async (t) => {
  const { runRoot, dataRoot } = await env(t);
  const esm = await runCmd(process.execPath, ['--input-type=module', '-e', "import { Podrun, Wait } from 'podrun'; import lib from 'podrun'; console.log(typeof Podrun, typeof Wait.forHttp, lib.Podrun === Podrun)"], { cwd: repoRoot });
  t.equal(esm.stdout, 'function function true\n', esm.stderr);
  const cjs = await runCmd(process.execPath, ['-e', "const { Podrun, PodrunError } = require('podrun'); console.log(typeof Podrun, typeof PodrunError)"], { cwd: repoRoot });
  t.equal(cjs.stdout, 'function function\n', cjs.stderr);
  const envs: NodeJS.ProcessEnv = { ...process.env, PODRUN_RUNROOT: runRoot, PODRUN_DATA_ROOT: dataRoot };
  delete envs.NODE_OPTIONS;
  const nodeTest = await runCmd(process.execPath, ['--test', path.join(repoRoot, 'examples/library/web.node-test.mjs')], { cwd: repoRoot, env: envs });
  t.equal(nodeTest.code, 0, `node --test example: ${nodeTest.stdout}${nodeTest.stderr}`);
  t.match(nodeTest.stdout, /# pass 1\n# fail 0/);
  const tapExample = await runCmd(process.execPath, [path.join(repoRoot, 'examples/library/web.tap.cjs')], { cwd: repoRoot, env: envs });
  t.equal(tapExample.code, 0, `tap example: ${tapExample.stdout}${tapExample.stderr}`);
  t.match(tapExample.stdout, /\nok 1 - containers of a pod share localhost/);
  t.notMatch(tapExample.stdout, /not ok/);
});
