import { join } from 'node:path';
import { createCgroupDriver } from '../index';
import { runCgroupConformance } from '../testing/cgroup-conformance';
import { buildFakeCgroupTree } from '../testing/fake-cgroup-tree';

// This machine's layout: separate cpu and cpuacct mounts, the service in a non-root memory cgroup.
runCgroupConformance('v1 driver on a fake hybrid tree', async () => {
  const tree = await buildFakeCgroupTree({ mode: 'hybrid', ownPaths: { memory: '/process_api/abc' } });
  return {
    driver: await createCgroupDriver({ root: tree.root, fs: tree.fs }),
    fs: tree.fs,
    startProcess: async () => tree.fs.spawn(),
    isAlive: async (pid) => tree.fs.isAlive(pid),
    cleanup: tree.cleanup,
  };
});

// Most v1 distributions: cpu and cpuacct co-mounted, everything at the root.
runCgroupConformance('v1 driver on a fake tree with cpu,cpuacct co-mounted', async () => {
  const tree = await buildFakeCgroupTree({ mode: 'v1', coMountCpu: true });
  return {
    driver: await createCgroupDriver({ root: tree.root, fs: tree.fs }),
    fs: tree.fs,
    startProcess: async () => tree.fs.spawn(),
    isAlive: async (pid) => tree.fs.isAlive(pid),
    cleanup: tree.cleanup,
  };
});

describe('v1 driver specifics (fake tree)', () => {
  const setup = async (features = {}) => {
    const tree = await buildFakeCgroupTree({
      mode: 'hybrid',
      ownPaths: { memory: '/process_api/abc' },
      features,
    });
    const driver = await createCgroupDriver({ root: tree.root, fs: tree.fs });
    return { tree, driver };
  };

  it('puts the parent under the service’s own cgroup per hierarchy and uses the v1 driver in hybrid mode', async () => {
    const { tree, driver } = await setup();
    try {
      expect(driver.mode).toBe('v1');
      expect(driver.parentPaths.memory).toBe(`${tree.root}/sys/fs/cgroup/memory/process_api/abc/warden`);
      expect(driver.parentPaths.cpu).toBe(`${tree.root}/sys/fs/cgroup/cpu/warden`);
      expect(Object.keys(driver.parentPaths).sort()).toEqual([
        'blkio',
        'cpu',
        'cpuacct',
        'cpuset',
        'freezer',
        'memory',
        'pids',
      ]);
    } finally {
      await tree.cleanup();
    }
  });

  it('copies cpuset.cpus and cpuset.mems from the parent before any task joins', async () => {
    const { tree, driver } = await setup();
    try {
      const cg = await driver.create('c');
      expect(await tree.fs.read(join(cg.paths.cpuset, 'cpuset.mems'))).toBe('0\n');
      expect(await tree.fs.read(join(cg.paths.cpuset, 'cpuset.cpus'))).toBe('0-3\n');
    } finally {
      await tree.cleanup();
    }
  });

  it('reads kernel counters: oom_kill from memory.oom_control, working set, ns CPU split', async () => {
    const { tree, driver } = await setup();
    try {
      const cg = await driver.create('c', { memoryBytes: 64 * 1024 * 1024 });
      const mem = cg.paths.memory;
      await tree.fs.setKernelFile(join(mem, 'memory.usage_in_bytes'), '10000000');
      await tree.fs.setKernelFile(join(mem, 'memory.max_usage_in_bytes'), '33554432');
      await tree.fs.setKernelFile(join(mem, 'memory.failcnt'), '9999'); // limit hits, not kills
      await tree.fs.setKernelFile(
        join(mem, 'memory.oom_control'),
        'oom_kill_disable 0\nunder_oom 0\noom_kill 2',
      );
      await tree.fs.setKernelFile(
        join(mem, 'memory.stat'),
        'inactive_file 1000\ntotal_inactive_file 3000000',
      );
      await tree.fs.setKernelFile(
        join(cg.paths.cpu, 'cpu.stat'),
        'nr_periods 10\nnr_throttled 4\nthrottled_time 123456',
      );
      const s = await cg.stats();
      expect(s.memory).toMatchObject({
        usageBytes: 10_000_000,
        peakBytes: 33_554_432,
        workingSetBytes: 7_000_000,
        oomKills: 2,
      });
      expect(s.cpu).toEqual({
        usageNs: 3_000_000,
        userNs: 2_000_000,
        systemNs: 1_000_000,
        nrPeriods: 10,
        nrThrottled: 4,
        throttledNs: 123456,
      });
    } finally {
      await tree.cleanup();
    }
  });

  it('falls back to cpuacct.stat ticks and reports oomKills null on kernels without the counter', async () => {
    const { tree, driver } = await setup();
    try {
      const cg = await driver.create('c');
      await tree.fs.rmFileForTest(join(cg.paths.cpuacct, 'cpuacct.usage_user'));
      await tree.fs.setKernelFile(join(cg.paths.cpuacct, 'cpuacct.stat'), 'user 7\nsystem 3');
      await tree.fs.setKernelFile(
        join(cg.paths.memory, 'memory.oom_control'),
        'oom_kill_disable 0\nunder_oom 0',
      );
      const s = await cg.stats();
      expect(s.cpu).toMatchObject({ userNs: 70_000_000, systemNs: 30_000_000 });
      expect(s.memory.oomKills).toBeNull();
    } finally {
      await tree.cleanup();
    }
  });

  it('sets only memory.limit_in_bytes without swap accounting', async () => {
    const { tree, driver } = await setup({ swapAccounting: false });
    try {
      const cg = await driver.create('c', {
        memoryBytes: 32 * 1024 * 1024,
        memorySwapBytes: 64 * 1024 * 1024,
      });
      const l = await cg.readLimits();
      expect(l.memoryBytes).toBe(32 * 1024 * 1024);
      expect(l.memorySwapBytes).toBeUndefined();
    } finally {
      await tree.cleanup();
    }
  });

  it('freezes before signalling so a forking process cannot slip out', async () => {
    const { tree, driver } = await setup();
    try {
      const cg = await driver.create('c');
      await cg.addProcess(tree.fs.spawn());
      const states: string[] = [];
      const write = tree.fs.write.bind(tree.fs);
      tree.fs.write = async (path, value) => {
        if (path.endsWith('freezer.state')) states.push(value);
        return write(path, value);
      };
      await cg.killAll('SIGTERM');
      expect(states).toEqual(['FROZEN', 'THAWED']);
      expect(tree.fs.signals.map((s) => s.signal)).toEqual(['SIGTERM']);
    } finally {
      await tree.cleanup();
    }
  });
});
