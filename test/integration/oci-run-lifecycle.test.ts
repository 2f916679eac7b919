/** Foreground lifecycle: signal forwarding, the library API, cleanup. */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRoot, makeBundle, podrunBin, runCmd, snapshotHost, uniqueId } from '../helpers';
import { run, startContainer } from '../../src/oci/run';
import { defaultSpec } from '../../src/oci/default-spec';

if (!isRoot) {
  t.plan(0, 'integration tests need root');
} else {
  t.test('SIGTERM to the CLI is forwarded; it exits 128+15 and cleans up', async (t) => {
    const before = await snapshotHost();
    // pid 1 of a namespace ignores signals it has no handler for (as with runc): trap it
    const bundle = await makeBundle(t, 'trap "echo got-term; exit 143" TERM; echo ready; sleep 100 & wait $!');
    let cliPid = 0;
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const done = runCmd(podrunBin, ['oci', 'run', '--bundle', bundle, uniqueId('sig')], {
      onSpawn: (p) => (cliPid = p),
      onStdout: (out) => out.includes('ready') && ready(),
    });
    await isReady; // the container is up: its output came through the CLI
    await sleep(50);
    process.kill(cliPid, 'SIGTERM');
    const r = await done;
    t.equal(r.stdout, 'ready\ngot-term\n');
    t.equal(r.code, 143);
    t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left');
  });

  t.test('library: run() and startContainer() are typed and take no global state', async (t) => {
    const before = await snapshotHost();
    const { fixtures } = await import('../helpers');
    const fx = await fixtures();
    const config = defaultSpec({ args: ['sh', '-c', 'exit 7'], rootfs: fx.rootfs });
    const warnings: string[] = [];
    const r = await run({ config, bundle: '/' }, { id: uniqueId('lib'), onWarning: (w) => warnings.push(w) });
    t.same(r, { exitCode: 7, signal: null, status: 7, oomKilled: false });
    t.same(warnings, []);

    const long = await startContainer({ config: defaultSpec({ args: ['sleep', '100'], rootfs: fx.rootfs }), bundle: '/' }, { id: uniqueId('lib') });
    t.ok(long.pid > 0);
    long.kill('SIGKILL');
    t.same(await long.wait(), { exitCode: null, signal: 'SIGKILL', status: 137, oomKilled: false });
    t.same(await snapshotHost(), before);
  });

  t.test('two containers with one id cannot run at once', async (t) => {
    const { fixtures } = await import('../helpers');
    const fx = await fixtures();
    const id = uniqueId('dup');
    const first = await startContainer({ config: defaultSpec({ args: ['sleep', '100'], rootfs: fx.rootfs }), bundle: '/' }, { id });
    await t.rejects(run({ config: defaultSpec({ args: ['true'], rootfs: fx.rootfs }), bundle: '/' }, { id }), { code: 'EEXIST' });
    first.kill('SIGKILL');
    await first.wait();
  });

  t.test('many runs in a row leave the host as it was', async (t) => {
    const before = await snapshotHost();
    const bundle = await makeBundle(t, 'echo $$');
    for (let i = 0; i < 20; i++) {
      const r = await runCmd(podrunBin, ['oci', 'run', '--bundle', bundle, uniqueId('many')]);
      t.equal(r.stdout, '1\n');
    }
    t.same(await snapshotHost(), before);
  });
}
