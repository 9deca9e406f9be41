'use strict';
// Runs inside the cgroup v2 guest: the CgroupDriver conformance suite
// (src/runtime/cgroups/testing/cgroup-conformance.ts, which the specs run on fake trees and
// test/privileged/cgroups-v1.test.ts on this host's v1 hierarchy) with the v2 driver on the guest's
// real cgroup2 tree. Not jest: jest and ts-jest loading under TCG would cost minutes, so the host
// transpiles the suite (cgroup-v2.test.ts) and this runs its describe/it/beforeEach/afterEach
// with jest's own `expect`. One JSON line per test to OUT_FILE; the host judges them.
// Usage: node conformance.js SUITE.js OUT_FILE
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { expect } = require('expect');

const [suiteFile, outFile] = process.argv.slice(2);
const cgroups = require(path.join(__dirname, '../../dist/src/runtime/cgroups'));

// The part of @jest/globals the suite uses: a tree of describes with hooks, and tests.
const root = { name: '', hooks: { beforeEach: [], afterEach: [] }, children: [] };
let current = root;
const globals = {
  expect,
  describe(name, fn) {
    const block = { name, hooks: { beforeEach: [], afterEach: [] }, children: [], parent: current };
    current.children.push(block);
    current = block;
    fn();
    current = block.parent;
  },
  it: (name, fn) => current.children.push({ name, fn }),
  beforeEach: (fn) => current.hooks.beforeEach.push(fn),
  afterEach: (fn) => current.hooks.afterEach.push(fn),
};
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolve(request, ...rest) {
  return request === '@jest/globals' ? '@jest/globals' : resolveFilename.call(this, request, ...rest);
};
require.cache['@jest/globals'] = { id: '@jest/globals', loaded: true, exports: globals };

const parentName = `warden-conformance-${process.pid}`;
const children = new Set();
const isAlive = async (pid) => {
  const stat = await fs.promises.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
};
const register = (mode) =>
  require(path.resolve(suiteFile)).runCgroupConformance(`${mode} driver, real kernel`, async () => {
    const driver = await cgroups.createCgroupDriver({ parentName });
    return {
      driver,
      fs: new cgroups.NodeCgroupFs(),
      startProcess: async () => {
        const child = spawn('sleep', ['60'], { stdio: 'ignore' });
        children.add(child);
        child.once('exit', () => children.delete(child));
        return child.pid;
      },
      isAlive,
      cleanup: async () => {
        for (const child of children) child.kill('SIGKILL');
        for (const id of await driver.list().catch(() => []))
          await (await driver.open(id))?.destroy().catch(() => undefined);
        await driver.removeParent().catch(() => undefined);
      },
    };
  });

async function run(block, before, after, names) {
  for (const child of block.children) {
    const chain = [...names, child.name];
    if (child.children) {
      await run(child, [...before, ...child.hooks.beforeEach], [...child.hooks.afterEach, ...after], chain);
      continue;
    }
    const started = Date.now();
    let error = null;
    try {
      for (const hook of before) await hook();
      await child.fn();
    } catch (err) {
      error = String(err?.stack ?? err);
    }
    // afterEach runs whether the test passed, like jest's; its failure fails the test.
    for (const hook of after)
      await Promise.resolve()
        .then(hook)
        .catch((err) => (error ??= String(err?.stack ?? err)));
    const line = { name: chain.join(' › '), ok: error === null, ms: Date.now() - started, error };
    fs.appendFileSync(outFile, `${JSON.stringify(line)}\n`);
  }
}

cgroups
  .detectCgroupLayout()
  .then((layout) => register(layout.driverMode))
  .then(() => run(root, [], [], []))
  .then(() => {
    const left = fs.existsSync(`/sys/fs/cgroup/${parentName}`);
    fs.appendFileSync(outFile, `${JSON.stringify({ name: 'no cgroup left behind', ok: !left })}\n`);
  })
  .catch((err) => {
    fs.appendFileSync(outFile, `${JSON.stringify({ name: 'runner', ok: false, error: String(err) })}\n`);
    process.exitCode = 1;
  });
