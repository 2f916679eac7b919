// Bundle the CLI into one file: one module load at start-up instead of dozens.
const path = require('node:path');
const root = path.resolve(__dirname, '..');

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

require('node:fs').rmSync(path.join(root, 'dist/cli.js.cache'), { force: true });
require('esbuild')
  .build({
    entryPoints: [path.join(root, 'dist/src/cli/main.js')],
    outfile: path.join(root, 'dist/cli.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // image and pod dependencies load from node_modules when such a command runs
    external: ['*.node', 'tar', 'cli-progress', 'yaml'],
    minify: true,
    plugins: [lazyChildProcess],
    logLevel: 'warning',
  })
  .catch(() => process.exit(1));
