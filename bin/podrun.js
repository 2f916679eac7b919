'use strict';
// The podrun CLI, run by node through bin/podrun (as root, or inside the user's namespace rootless), which moved
// NODE_EXTRA_CA_CERTS to PODRUN_EXTRA_CA_CERTS for node's start-up: children see it as it was.
if (process.env.PODRUN_EXTRA_CA_CERTS) process.env.NODE_EXTRA_CA_CERTS = process.env.PODRUN_EXTRA_CA_CERTS;
else delete process.env.PODRUN_EXTRA_CA_CERTS;
// The CLI is one bundle (dist/cli.js), loaded through a V8 code cache; the
// heavy libraries only some commands need (yaml, tar, cli-progress) and each
// generated validator are bundles of their own (dist/deps/), loaded the same
// way on first use.
const path = require('node:path');
const loadCached = require('./cached-load');

const root = path.resolve(__dirname, '..');
process.env.PODRUN_PACKAGE_ROOT ??= root;
// one cache per command (`podrun oci create` → oci-create): see cached-load.js
const words = process.argv.slice(2).filter((a) => /^[a-z][a-z-]*$/.test(a)).slice(0, process.argv[2] === 'oci' ? 2 : 1);
loadCached.profile = words.join('-') || 'default';
loadCached(path.join(root, 'dist', 'cli.js')).main(process.argv);
