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

/** Next to the bundle where we may write there (root, a clone of one's own); else in the user's cache directory:
 * an ordinary user of an installed package, or rootless podrun, whose namespace cannot write the package either,
 * would otherwise compile every bundle anew at every command. */
function cachePath(file) {
  const name = `${path.basename(file)}.${loadCached.profile}.cache`;
  try {
    fs.accessSync(path.dirname(file), fs.constants.W_OK);
    return path.join(path.dirname(file), name);
  } catch {}
  const home = process.env.XDG_CACHE_HOME || (process.env.HOME && path.join(process.env.HOME, '.cache'));
  // one directory per package copy: each has its own bundles
  return home ? path.join(home, 'podrun', 'code-cache', path.dirname(file).replace(/\//g, '%'), name) : null;
}

function load(file) {
  const cacheFile = cachePath(file);
  let cached;
  try {
    // a code cache is code: only one of our own that no one else could have written
    const st = cacheFile && fs.lstatSync(cacheFile);
    if (st && st.isFile() && st.uid === process.geteuid() && (st.mode & 0o022) === 0) cached = fs.readFileSync(cacheFile);
  } catch {}
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: cached });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
  if (cacheFile && (!cached || script.cachedDataRejected)) {
    // at exit: the cache then holds every function this run compiled
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, cacheFile);
      } catch {}
    });
  }
  return mod.exports;
}

/** which command's cache (set by bin/podrun) */
loadCached.profile = 'default';
module.exports = loadCached;
