// Bundle the CLI into one file: one module load at start-up instead of dozens.
// yaml, tar, cli-progress and jsonpath-plus (~100 ms to require from node_modules here) and
// the generated validators each go into a bundle of their own under
// dist/deps/, which the CLI loads (through bin/cached-load.js, code-cached
// too) when a command first needs it.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');
const root = path.resolve(__dirname, '..');
const deps = ['yaml', 'tar', 'cli-progress', 'jsonpath-plus'];
// and the generated validators (scripts/gen-validators.js), ~370 KB of code only some commands run
const generated = [];
for (const dir of ['oci', 'pod', 'network', 'image']) {
  for (const f of fs.readdirSync(path.join(root, 'dist/src', dir))) if (f.endsWith('.generated.js')) generated.push(path.join(root, 'dist/src', dir, f));
}

// commander requires child_process at load time for executable subcommands,
// which podrun does not use: load it on first use instead.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${path.sep}commander${path.sep}`) ? { path: 'child_process', namespace: 'lazy' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

/** dist/deps/<name>.js for a package name or a generated validator's path */
const depName = (d) => (path.isAbsolute(d) ? `gen-${path.relative(path.join(root, 'dist/src'), d).replace(/\.generated\.js$/, '').replace(/[/\\]/g, '-')}` : d);

// in cli.js, `require('yaml')` loads dist/deps/yaml.js then
const fromDepsBundles = {
  name: 'from-deps-bundles',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${deps.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'deps' }));
    // the CRI server (grpc, its proto loader, zod for its config): a bundle of its own, dist/deps/cri.js
    build.onResolve({ filter: /^\.\.\/cri$/ }, (args) => ({ path: 'cri', namespace: 'deps' }));
    build.onResolve({ filter: /\.generated\.js$/ }, (args) => ({ path: path.resolve(args.resolveDir, args.path), namespace: 'deps' }));
    build.onLoad({ filter: /.*/, namespace: 'deps' }, (args) => ({
      contents: `module.exports = require(__dirname + '/../bin/cached-load.js')(__dirname + '/deps/${depName(args.path)}.js');`,
      loader: 'js',
    }));
  },
};

// PODRUN_NO_MINIFY=1: readable names in CPU profiles
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: !process.env.PODRUN_NO_MINIFY, logLevel: 'warning' };
for (const f of fs.readdirSync(path.join(root, 'dist'))) if (f.endsWith('.cache') || f === 'deps.js') fs.rmSync(path.join(root, 'dist', f), { force: true });
fs.rmSync(path.join(root, 'dist/deps'), { recursive: true, force: true });
Promise.all([
  esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'dist/src/cli/main.js')],
    outfile: path.join(root, 'dist/cli.js'),
    external: ['*.node'],
    plugins: [lazyChildProcess, fromDepsBundles],
  }),
  esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'dist/src/cri/index.js')],
    outfile: path.join(root, 'dist/deps/cri.js'),
    // obuf and wbuf (hpack.js's buffers: the :authority front's header blocks) still call `new Buffer()`: loaded from
    // node_modules, where Node keeps that deprecation to itself, instead of DEP0005 in every `podrun cri` log
    external: ['*.node', 'obuf', 'wbuf'],
  }),
  ...[...deps, ...generated].map((d) => esbuild.build({
    ...common,
    stdin: { contents: `module.exports = require(${JSON.stringify(d)});`, resolveDir: root, loader: 'js' },
    outfile: path.join(root, 'dist/deps', `${depName(d)}.js`),
  })),
]).catch(() => process.exit(1));
