/** podrun as a Node developer gets it (issue 19): `npm pack`, `npm install` of the tarball into a fresh project
 * (its native parts built there by the install script), a strict TypeScript test importing it as an ES module
 * (module nodenext) compiled and run with node's test runner against a real pod, and require() from CommonJS. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { fixtures, repoRoot, runCmd } from '../helpers';

t.test('the packed package installs and works, typed, from ESM and CommonJS', async (t) => {
  const fx = await fixtures();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-pkg-'));
  const roots = { R: path.join(dir, 'run'), D: path.join(dir, 'data') };
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // dist/ is built (npm test builds first): its prepack build need not run again
  const pack = await runCmd('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot });
  t.equal(pack.code, 0, pack.stderr);
  const tarball = path.join(dir, pack.stdout.trim().split('\n').pop()!);
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const install = await runCmd('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app });
  t.equal(install.code, 0, install.stderr);
  t.ok(fs.existsSync(path.join(app, 'node_modules/podrun/build/Release/podrun.node')), 'the addon was built by the install');

  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, outDir: 'out', lib: ['ES2022', 'esnext.disposable'],
      types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules/@types')],
    },
    include: ['pod.test.ts'],
  }));
  fs.writeFileSync(path.join(app, 'pod.test.ts'), `
import assert from 'node:assert/strict';
import test from 'node:test';
import { Podrun, Wait, type ExecText } from 'podrun';

const podrun = new Podrun({ root: process.env.R, dataRoot: process.env.D });
test('a pod from the installed package', async () => {
  await podrun.load(${JSON.stringify(fx.images['busybox-gzip'])}, { name: 'localhost/podrun/busybox' });
  await using pod = await podrun.pod('installed').container({ image: 'localhost/podrun/busybox', command: ['sh', '-c', 'echo up; exec sleep 60'] })
    .start({ waitFor: Wait.forLogMessage('up'), owned: false });
  const r: ExecText = await pod.exec(['hostname']);
  assert.equal(r.stdout, 'installed\\n');
});
`);
  const tsc = await runCmd(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app });
  t.equal(tsc.code, 0, `strict TypeScript compiles: ${tsc.stdout}${tsc.stderr}`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...roots };
  delete env.NODE_OPTIONS;
  const run = await runCmd(process.execPath, ['--test', path.join(app, 'out/pod.test.js')], { cwd: app, env });
  t.equal(run.code, 0, `${run.stdout}${run.stderr}`);
  t.match(run.stdout, /# pass 1\n# fail 0/);
  const cjs = await runCmd(process.execPath, ['-e', "const p = require('podrun'); console.log(typeof p.Podrun, typeof p.Wait.forHttp)"], { cwd: app });
  t.equal(cjs.stdout, 'function function\n', cjs.stderr);
  const cli = await runCmd(path.join(app, 'node_modules/.bin/podrun'), ['--runroot', roots.R, '--data-root', roots.D, 'ps', '-q'], { cwd: app });
  t.equal(cli.code, 0, cli.stderr);
  t.equal(cli.stdout, '', 'the CLI of the package runs; the test\'s pod is gone');
  // podrun-oci too (it was a symlink into build/, which npm does not pack: an installed package had none)
  const oci = await runCmd(path.join(app, 'node_modules/.bin/podrun-oci'), ['--root', path.join(roots.R, 'oci'), 'list', '--format', 'json'], { cwd: app });
  t.equal(oci.code, 0, oci.stderr);
  t.equal(oci.stdout.trim(), '[]', 'the package\'s podrun-oci runs (its C front, through bin/)');
});
