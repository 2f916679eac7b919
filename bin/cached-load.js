'use strict';
// Loads a bundled CommonJS file through a V8 code cache: node 20 has no
// built-in compile cache, and compiling a bundle is a large part of the
// CLI's start-up. A cache holds the functions its first run compiled, so
// each command keeps its own (<file>.<command>.cache: `start` then finds the
// pod code compiled, not just what `--version` ran). It is written at exit
// when missing or rejected (after a rebuild); any failure to read or write
// it is harmless.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const loaded = new Map();

/** The module's exports; each file is loaded once per process. */
function loadCached(file) {
  if (!loaded.has(file)) loaded.set(file, load(file));
  return loaded.get(file);
}

function load(file) {
  const cacheFile = `${file}.${loadCached.profile}.cache`;
  let cached;
  try {
    cached = fs.readFileSync(cacheFile);
  } catch {}
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: cached });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
  if (!cached || script.cachedDataRejected) {
    // at exit: the cache then holds every function this run compiled
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {}
    });
  }
  return mod.exports;
}

/** which command's cache (set by bin/podrun) */
loadCached.profile = 'default';
module.exports = loadCached;
