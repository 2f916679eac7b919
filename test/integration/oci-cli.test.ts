/** `podrun oci spec`, and the C-only launch path of podrun-monitor. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { fixtures, isRoot, podrunBin, runCmd, tempDir } from '../helpers';
import { buildLaunchPlan } from '../../src/oci/build-plan';
import { defaultSpec } from '../../src/oci/default-spec';
import { encodePlan } from '../../src/oci/plan-encode';
import { validateConfig } from '../../src/oci/validate';
import { monitorPath } from '../../src/native';

t.test('oci spec writes runc\'s default config and refuses to overwrite', async (t) => {
  const dir = await tempDir(t);
  const r = await runCmd(podrunBin, ['oci', 'spec', '--bundle', dir]);
  t.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
  t.equal(cfg.ociVersion, '1.2.0');
  t.same(cfg.process.args, ['sh']);
  t.equal(cfg.root.path, 'rootfs');
  t.doesNotThrow(() => validateConfig(cfg));
  const again = await runCmd(podrunBin, ['oci', 'spec', '--bundle', dir]);
  t.equal(again.code, 1);
  t.match(again.stderr, /config\.json exists\. Remove it first/);
});

t.test('unknown options and commands are rejected', async (t) => {
  const r = await runCmd(podrunBin, ['oci', 'run', '--bogus', 'x']);
  t.not(r.code, 0);
  t.match(r.stderr, /unknown option '--bogus'/);
  const { makeBundle } = await import('../helpers');
  const bundle = await makeBundle(t, 'true');
  const c = await runCmd(podrunBin, ['oci', 'run', '--console-socket', '/tmp/x.sock', '-b', bundle, 'x']);
  t.equal(c.code, 1);
  t.match(c.stderr, /process\.terminal: --console-socket was given but the process does not ask for a terminal/);
});

if (isRoot) {
  t.test('podrun-monitor runs an encoded plan (C front end of the same launch library)', async (t) => {
    const fx = await fixtures();
    const dir = await tempDir(t);
    const config = validateConfig(defaultSpec({ args: ['sh', '-c', 'echo from-monitor $(hostname); exit 5'], rootfs: fx.rootfs }));
    const { plan } = buildLaunchPlan(config, { bundle: dir });
    await writeFile(path.join(dir, 'plan.bin'), encodePlan(plan));
    const r = await runCmd(monitorPath(), ['run', path.join(dir, 'plan.bin')]);
    t.equal(r.stdout, 'from-monitor podrun\n');
    t.equal(r.code, 5);
    const bad = await runCmd(monitorPath(), ['run', path.join(dir, 'missing.bin')]);
    t.equal(bad.code, 125);
    t.match(bad.stderr, /missing\.bin: No such file or directory/);
  });
}
