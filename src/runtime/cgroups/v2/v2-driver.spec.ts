import { join } from 'node:path';
import { createCgroupDriver } from '../index';
import { runCgroupConformance } from '../testing/cgroup-conformance';
import { buildFakeCgroupTree } from '../testing/fake-cgroup-tree';

const MiB = 1024 * 1024;

runCgroupConformance('v2 driver on a fake unified tree', async () => {
  const tree = await buildFakeCgroupTree({ mode: 'v2' });
  return {
    driver: await createCgroupDriver({ root: tree.root, fs: tree.fs }),
    fs: tree.fs,
    startProcess: async () => tree.fs.spawn(),
    isAlive: async (pid) => tree.fs.isAlive(pid),
    cleanup: tree.cleanup,
  };
});

// An older v2 kernel: no cgroup.kill (5.14), no memory.peak (5.19), no swap accounting.
runCgroupConformance('v2 driver on a fake tree of an older kernel', async () => {
  const tree = await buildFakeCgroupTree({
    mode: 'v2',
    features: { cgroupKill: false, memoryPeak: false, swapAccounting: false },
  });
  return {
    driver: await createCgroupDriver({ root: tree.root, fs: tree.fs }),
    fs: tree.fs,
    startProcess: async () => tree.fs.spawn(),
    isAlive: async (pid) => tree.fs.isAlive(pid),
    cleanup: tree.cleanup,
  };
});

describe('v2 driver specifics (fake tree)', () => {
  it('enables controllers down the chain: own cgroup → parent → container', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'v2' });
    try {
      const driver = await createCgroupDriver({ root: tree.root, fs: tree.fs });
      expect(driver.mode).toBe('v2');
      const cg = await driver.create('c', { memoryBytes: 64 * MiB });
      const cgroupRoot = join(tree.root, 'sys/fs/cgroup');
      expect(await tree.fs.read(join(cgroupRoot, 'cgroup.subtree_control'))).toBe(
        'memory cpu pids cpuset io\n',
      );
      expect(await tree.fs.read(join(cgroupRoot, 'warden/cgroup.subtree_control'))).toBe(
        'memory cpu pids cpuset io\n',
      );
      expect(await tree.fs.read(join(cg.paths.unified, 'memory.max'))).toBe(`${64 * MiB}\n`);
    } finally {
      await tree.cleanup();
    }
  });

  it('writes memory.swap.max as swap alone (Docker’s memory+swap minus memory)', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'v2' });
    try {
      const driver = await createCgroupDriver({ root: tree.root, fs: tree.fs });
      const cg = await driver.create('c', { memoryBytes: 64 * MiB });
      expect(await tree.fs.read(join(cg.paths.unified, 'memory.swap.max'))).toBe('0\n');
      await cg.setLimits({ memoryBytes: 64 * MiB, memorySwapBytes: 96 * MiB });
      expect(await tree.fs.read(join(cg.paths.unified, 'memory.swap.max'))).toBe(`${32 * MiB}\n`);
      expect(await tree.fs.read(join(cg.paths.unified, 'cpu.max'))).toBe('max 100000\n');
      await cg.setLimits({ nanoCpus: 1_500_000_000, cpuShares: 1024 });
      expect(await tree.fs.read(join(cg.paths.unified, 'cpu.max'))).toBe('150000 100000\n');
      expect(await tree.fs.read(join(cg.paths.unified, 'cpu.weight'))).toBe('39\n');
    } finally {
      await tree.cleanup();
    }
  });

  it('reads oom_kill from memory.events (not memory.events "oom"), memory.peak and µs CPU as ns', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'v2' });
    try {
      const driver = await createCgroupDriver({ root: tree.root, fs: tree.fs });
      const cg = await driver.create('c');
      const dir = cg.paths.unified;
      await tree.fs.setKernelFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 40\noom 5\noom_kill 1');
      await tree.fs.setKernelFile(join(dir, 'memory.current'), '5000000');
      await tree.fs.setKernelFile(join(dir, 'memory.peak'), '9000000');
      await tree.fs.setKernelFile(join(dir, 'memory.stat'), 'anon 1\ninactive_file 1000000');
      await tree.fs.setKernelFile(
        join(dir, 'cpu.stat'),
        'usage_usec 30\nuser_usec 20\nsystem_usec 10\nnr_periods 7\nnr_throttled 2\nthrottled_usec 5',
      );
      const s = await cg.stats();
      expect(s.memory).toMatchObject({ usageBytes: 5e6, peakBytes: 9e6, workingSetBytes: 4e6, oomKills: 1 });
      expect(s.cpu).toEqual({
        usageNs: 30_000,
        userNs: 20_000,
        systemNs: 10_000,
        nrPeriods: 7,
        nrThrottled: 2,
        throttledNs: 5_000,
      });
    } finally {
      await tree.cleanup();
    }
  });

  it('kills with cgroup.kill where the kernel has it', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'v2' });
    try {
      const driver = await createCgroupDriver({ root: tree.root, fs: tree.fs });
      const cg = await driver.create('c');
      const pid = tree.fs.spawn();
      await cg.addProcess(pid);
      await cg.killAll();
      expect(tree.fs.signals).toEqual([]); // no per-pid signal needed
      expect(tree.fs.isAlive(pid)).toBe(false);
    } finally {
      await tree.cleanup();
    }
  });

  it('explains the no-internal-processes rule when the service’s own cgroup holds processes', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'v2' });
    try {
      const cgroupRoot = join(tree.root, 'sys/fs/cgroup');
      await tree.fs.write(join(cgroupRoot, 'cgroup.subtree_control'), '+memory +cpu +pids');
      await tree.fs.mkdir(join(cgroupRoot, 'svc'));
      await tree.fs.write(join(cgroupRoot, 'svc/cgroup.procs'), String(tree.fs.spawn()));
      const driver = await createCgroupDriver({
        root: tree.root,
        fs: tree.fs,
        procSelfCgroup: '0::/svc',
      });
      await expect(driver.create('c')).rejects.toThrow(
        /^write .*\/svc\/cgroup.subtree_control: EBUSY \(.*holds processes.*leaf cgroup/,
      );
    } finally {
      await tree.cleanup();
    }
  });

  it('says which controllers are not delegated', async () => {
    const tree = await buildFakeCgroupTree({ mode: 'v2' });
    try {
      const cgroupRoot = join(tree.root, 'sys/fs/cgroup');
      await tree.fs.write(join(cgroupRoot, 'cgroup.subtree_control'), '+cpu');
      await tree.fs.mkdir(join(cgroupRoot, 'svc'));
      const driver = await createCgroupDriver({ root: tree.root, fs: tree.fs, procSelfCgroup: '0::/svc' });
      await expect(driver.create('c')).rejects.toThrow(
        /controllers memory, pids are not available in .*\/svc/,
      );
    } finally {
      await tree.cleanup();
    }
  });
});
