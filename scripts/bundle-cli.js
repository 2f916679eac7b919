// Bundle the CLI into one file: one module load at start-up instead of dozens.
// yaml, tar and cli-progress (~100 ms to require from node_modules here) go
// into a second bundle, dist/deps.js, that the first loads on first use.
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');
const root = path.resolve(__dirname, '..');
const deps = ['yaml', 'tar', 'cli-progress'];
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

// in cli.js, `require('yaml')` becomes a property of dist/deps.js, loaded then
const fromDepsBundle = {
  name: 'from-deps-bundle',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${deps.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'deps' }));
    build.onResolve({ filter: /\.generated\.js$/ }, (args) => ({ path: path.resolve(args.resolveDir, args.path), namespace: 'deps' }));
    build.onLoad({ filter: /.*/, namespace: 'deps' }, (args) => ({
      contents: `module.exports = require(__dirname + '/../bin/cached-load.js')(__dirname + '/deps.js')[${JSON.stringify(args.path)}]();`,
      loader: 'js',
    }));
  },
};

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, logLevel: 'warning' };
for (const f of fs.readdirSync(path.join(root, 'dist'))) if (f.endsWith('.cache')) fs.rmSync(path.join(root, 'dist', f), { force: true });
Promise.all([
  esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'dist/src/cli/main.js')],
    outfile: path.join(root, 'dist/cli.js'),
    external: ['*.node'],
    plugins: [lazyChildProcess, fromDepsBundle],
  }),
  esbuild.build({
    ...common,
    stdin: { contents: `module.exports = { ${[...deps, ...generated].map((d) => `${JSON.stringify(d)}: () => require(${JSON.stringify(d)})`).join(', ')} };`, resolveDir: root, loader: 'js' },
    outfile: path.join(root, 'dist/deps.js'),
  }),
]).catch(() => process.exit(1));
