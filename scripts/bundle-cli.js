// Bundle the CLI into one file: one module load at start-up instead of dozens.
const path = require('node:path');
const root = path.resolve(__dirname, '..');
require('node:fs').rmSync(path.join(root, 'dist/cli.js.cache'), { force: true });
require('esbuild').buildSync({
  entryPoints: [path.join(root, 'dist/src/cli/main.js')],
  outfile: path.join(root, 'dist/cli.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['*.node'],
  minify: true,
  logLevel: 'warning',
});
