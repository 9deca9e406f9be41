'use strict';
// A V8 code cache for Node in the cgroup v2 guest, loaded with `node -r` (NODE_OPTIONS). Loading
// Warden's ~2,200 modules is most of a start under TCG, and compiling them and resolving their
// paths was 40 % of its CPU (measured on the host). Bytecode is the same for the same node binary
// and flags, so the host (native speed) compiles and resolves once, and the guest loads the result.
//   WARDEN_CODE_CACHE=FILE WARDEN_CODE_CACHE_WRITE=1  run a workload, write FILE at exit
//   WARDEN_CODE_CACHE=FILE                            use FILE (a missing or stale entry compiles)
//   WARDEN_CODE_CACHE_STATS=LOG                       append {pid, hit, rejected, miss} to LOG at exit
// CommonJS only: the same wrapper, require and arguments Node gives a module; ES modules and
// JSON load as usual.
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const file = process.env.WARDEN_CODE_CACHE;
const writing = process.env.WARDEN_CODE_CACHE_WRITE === '1';
// { code: filename → bytecode, resolved: "parent dir\0request" → filename }, read whole.
const saved = file && fs.existsSync(file) ? v8.deserialize(fs.readFileSync(file)) : {};
const cache = saved.code ?? new Map();
const resolved = saved.resolved ?? new Map();
const scripts = new Map();
const stats = { hit: 0, rejected: 0, miss: 0 };
// So `import()` inside a cached module still resolves as Node would (node >= 20.12).
const dynamicImport = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

if (file) {
  const compileModule = Module.prototype._compile;
  Module.prototype._compile = function compile(content, filename, format) {
    // An ES module that require() loads (node >= 20.19) compiles as Node does it.
    if (format === 'module' || filename.endsWith('.mjs'))
      return compileModule.call(this, content, filename, format);
    const cachedData = cache.get(filename);
    const script = new vm.Script(Module.wrap(content.replace(/^#!.*/, '')), {
      filename,
      cachedData,
      importModuleDynamically: dynamicImport,
    });
    if (!cachedData) stats.miss++;
    else if (script.cachedDataRejected) stats.rejected++;
    else stats.hit++;
    if (writing) scripts.set(filename, script);
    const require = (id) => this.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.resolve.paths = (request) => Module._resolveLookupPaths(request, this);
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    const fn = script.runInThisContext({ displayErrors: true });
    return fn.call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  // Resolving a request stats and reads package.json files up the tree: the host did it already.
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function resolveCached(request, parent, isMain, options) {
    const key = parent?.filename && !options ? `${path.dirname(parent.filename)}\0${request}` : null;
    const hit = key && resolved.get(key);
    if (hit) return hit;
    const name = resolveFilename.call(this, request, parent, isMain, options);
    if (writing && key && path.isAbsolute(name)) resolved.set(key, name);
    return name;
  };
  // A module the host compiled as CommonJS needs no look-up of its package scope's "type".
  const loadJs = Module._extensions['.js'];
  Module._extensions['.js'] = function loadCached(mod, filename) {
    if (!cache.has(filename)) return loadJs.call(this, mod, filename);
    mod._compile(fs.readFileSync(filename, 'utf8'), filename);
  };
  process.on('exit', () => {
    if (process.env.WARDEN_CODE_CACHE_STATS)
      fs.appendFileSync(
        process.env.WARDEN_CODE_CACHE_STATS,
        `${JSON.stringify({ pid: process.pid, ...stats })}\n`,
      );
    if (!writing) return;
    // After the workload ran: the cache then holds the functions it compiled lazily too.
    for (const [name, script] of scripts) cache.set(name, script.createCachedData());
    fs.writeFileSync(`${file}.tmp`, v8.serialize({ code: cache, resolved }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
