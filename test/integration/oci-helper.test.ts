/** podrun-oci's warm helper (src/cli/oci-helper.ts, native/oci/helper_client.c):
 * `create` served by a Node process already running, with the same results
 * as the CLI's own — and the monitor still our descendant. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { isRoot, makeBundle, repoRoot, runCmd, snapshotHost, tempDir, uniqueId, waitFor } from '../helpers';

const oci = path.join(repoRoot, 'bin', 'podrun-oci');

async function helperEnv(t: Parameters<typeof tempDir>[0], idleMs = 20_000) {
  const root = await tempDir(t, 'podrun-helper-');
  const env = { ...process.env, PODRUN_OCI_HELPER: '1', PODRUN_OCI_HELPER_TRACE: '1', PODRUN_OCI_HELPER_IDLE_MS: String(idleMs) };
  const helperPid = (): number | undefined => {
    try {
      return Number(fs.readFileSync(path.join(root, 'state', 'oci-helper.pid'), 'utf8'));
    } catch {
      return undefined;
    }
  };
  t.teardown(() => {
    const pid = helperPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  /** podrun-oci in dir, stdio files (a created container keeps create's) */
  const run = (dir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    runCmd('sh', ['-c', `cd ${dir} && "$@" </dev/null 2>${root}/err >${root}/out; echo $? > ${root}/rc`, 'sh', oci, '--root', path.join(root, 'state'), ...args], { env: { ...env, ...extraEnv } })
      .then(() => ({ code: Number(fs.readFileSync(path.join(root, 'rc'), 'utf8')), stderr: fs.readFileSync(path.join(root, 'err'), 'utf8') }));
  const cmd = (...args: string[]) => runCmd(oci, ['--root', path.join(root, 'state'), ...args], { env });
  return { root, run, cmd, helperPid, env };
}

if (!isRoot) {
  t.plan(0, 'integration tests need root');
} else {
  t.test('the first create starts the helper; the next are served by it, and work as the CLI\'s', async (t) => {
    const before = await snapshotHost();
    const { root, run, cmd, helperPid } = await helperEnv(t);
    const bundle = await makeBundle(t, 'echo hello-from-container');
    const c0 = uniqueId('h0');
    const first = await run(bundle, ['create', c0]);
    t.equal(first.code, 0, first.stderr);
    t.notMatch(first.stderr, /served by the helper/, 'the first goes through Node');
    await waitFor(async () => fs.existsSync(path.join(root, 'state', 'oci-helper.sock')) && helperPid() !== undefined, 'the helper listening');
    // relative bundle and pid file, against the caller's directory
    const id = uniqueId('h');
    const second = await run(bundle, ['create', '--bundle', '.', '--pid-file', 'c.pid', id]);
    t.equal(second.code, 0, second.stderr);
    t.match(second.stderr, /served by the helper/);
    const state = JSON.parse((await cmd('state', id)).stdout) as { status: string; pid: number };
    t.equal(state.status, 'created');
    t.equal(fs.readFileSync(path.join(bundle, 'c.pid'), 'utf8'), String(state.pid), 'the pid file, where the caller meant it');
    t.equal((await cmd('start', id)).code, 0);
    await waitFor(async () => JSON.parse((await cmd('state', id)).stdout).status === 'stopped', 'exit');
    t.equal(fs.readFileSync(path.join(root, 'out'), 'utf8'), 'hello-from-container\n', "the container's stdout was create's");
    for (const c of [c0, id]) t.equal((await cmd('delete', '--force', c)).code, 0);
    fs.rmSync(path.join(bundle, 'c.pid'));
    t.same(await snapshotHost(), before, 'nothing left but the helper, which leaves when idle');
  });

  t.test('errors and warnings read as the CLI\'s; what the helper does not know goes to the CLI', async (t) => {
    const { root, run, helperPid } = await helperEnv(t);
    const bundle = await makeBundle(t, 'true');
    const warm = uniqueId('warm');
    await run(bundle, ['create', warm]);
    await waitFor(async () => helperPid() !== undefined && fs.existsSync(path.join(root, 'state', 'oci-helper.sock')), 'the helper');
    const viaHelper = await run(root, ['create', '--bundle', 'nowhere', uniqueId('e')]);
    const viaCli = await run(root, ['create', '--bundle', 'nowhere', uniqueId('e')], { PODRUN_OCI_HELPER: '0' });
    t.equal(viaHelper.code, 1);
    t.equal(viaCli.code, 1);
    t.equal(viaHelper.stderr.replace(/podrun-oci: served by the helper\n/, ''), viaCli.stderr, 'the same message, the same exit code');
    t.match(viaHelper.stderr, /served by the helper/);
    const unknown = await run(bundle, ['create', '--some-future-flag', uniqueId('u')]);
    t.notMatch(unknown.stderr, /served by the helper/, 'an option it does not know: the CLI answers');
    t.match(unknown.stderr, /unknown option '--some-future-flag'/);
    // another mount namespace sees other mounts: never served
    const other = await runCmd('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `cd ${root} && ${oci} --root ${root}/state create --bundle nowhere x </dev/null`], { env: { ...process.env, PODRUN_OCI_HELPER: '1', PODRUN_OCI_HELPER_TRACE: '1' } });
    t.equal(other.code, 1);
    t.notMatch(other.stderr, /served by the helper/, 'a caller in another mount namespace is left to the CLI');
    const log = path.join(root, 'log.json');
    const warned = await makeBundle(t, 'true', (c) => {
      const caps = ['CAP_KILL'];
      c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, ambient: caps };
    });
    const w1 = uniqueId('w1');
    const w = await run(warned, ['--log', log, '--log-format', 'json', 'create', w1]);
    t.equal(w.code, 0, w.stderr);
    t.match(w.stderr, /served by the helper/);
    t.match(JSON.parse(fs.readFileSync(log, 'utf8').trim()), { level: 'warning', msg: /process\.capabilities\.ambient: CAP_KILL not raised/ }, 'a warning in --log, as the CLI writes it');
    t.equal((await run(root, ['delete', '--force', w1])).code, 0);
    t.equal((await run(root, ['delete', '--force', warm])).code, 0);
  });

  t.test('the helper leaves when idle, and a monitor it had started stays with the container', async (t) => {
    const { root, run, cmd, helperPid } = await helperEnv(t, 400);
    const bundle = await makeBundle(t, 'exec sleep 30');
    const [first, second, third] = [uniqueId('i1'), uniqueId('i2'), uniqueId('i3')];
    await run(bundle, ['create', first]);
    await waitFor(async () => helperPid() !== undefined, 'the helper');
    const pid = helperPid()!;
    const served = await run(bundle, ['create', second]);
    t.match(served.stderr, /served by the helper/);
    t.equal((await cmd('start', second)).code, 0);
    await waitFor(async () => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 'the helper gone', 5000);
    t.notOk(fs.existsSync(path.join(root, 'state', 'oci-helper.sock')), 'its socket removed');
    t.equal(JSON.parse((await cmd('state', second)).stdout).status, 'running', 'the container it made runs on');
    for (const c of [first, second]) t.equal((await cmd('delete', '--force', c)).code, 0);
    const again = await run(bundle, ['create', third]);
    await waitFor(async () => helperPid() !== undefined && fs.existsSync(path.join(root, 'state', 'oci-helper.sock')), 'a new helper');
    const next = helperPid()!;
    process.kill(next, 'SIGTERM');
    await waitFor(async () => !fs.existsSync(path.join(root, 'state', 'oci-helper.sock')) && helperPid() === undefined, 'SIGTERM: socket and pid file removed');
    t.notMatch(again.stderr, /served by the helper/, 'the next create starts a new one');
    t.equal((await cmd('delete', '--force', third)).code, 0);
  });
}

if (isRoot) {
  t.test('exec through the helper: the process is podrun-oci\'s child, exit codes, errors and --detach as the CLI\'s', async (t) => {
    const { root, run, cmd, helperPid } = await helperEnv(t);
    const bundle = await makeBundle(t, 'exec sleep 60');
    const id = uniqueId('x');
    t.equal((await run(bundle, ['create', id])).code, 0);
    t.equal((await cmd('start', id)).code, 0);
    await waitFor(async () => helperPid() !== undefined && fs.existsSync(path.join(root, 'state', 'oci-helper.sock')), 'the helper');
    const ran = await run(root, ['exec', id, 'sh', '-c', 'echo "ppid $PPID"; exit 3']);
    t.equal(ran.code, 3, 'the process\'s exit code');
    t.match(ran.stderr, /served by the helper/);
    t.match(fs.readFileSync(path.join(root, 'out'), 'utf8'), /^ppid 0\n$/, 'its output on our stdout (its parent is outside its PID namespace)');
    const missing = await run(root, ['exec', id, 'nope']);
    const missingCli = await run(root, ['exec', id, 'nope'], { PODRUN_OCI_HELPER: '0' });
    t.equal(missing.code, missingCli.code);
    t.equal(missing.stderr.replace(/podrun-oci: served by the helper\n/, ''), missingCli.stderr, 'a launch error worded as the CLI words it');
    t.match(missing.stderr, /served by the helper/);
    const pidFile = path.join(root, 'exec.pid');
    const detached = await run(root, ['exec', '--detach', '--pid-file', 'exec.pid', id, 'sleep', '30']);
    t.equal(detached.code, 0, detached.stderr);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    t.ok(pid > 0 && fs.existsSync(`/proc/${pid}`), 'detached, its pid in the file (relative to the caller\'s directory)');
    t.equal(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\u000030\u0000');
    const tty = await run(root, ['exec', '-t', id, 'true']);
    t.notMatch(tty.stderr, /served by the helper/, 'a terminal without --console-socket: the CLI\'s');
    t.equal((await cmd('delete', '--force', id)).code, 0);
  });
}
