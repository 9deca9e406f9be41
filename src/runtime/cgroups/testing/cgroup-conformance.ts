import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CgroupDriver } from '../cgroup-driver';
import { CgroupError } from '../cgroup.errors';
import { CgroupFs } from '../cgroup-fs';
import { diskHolding } from '../block-device';

// One behavioural suite for every CgroupDriver: v1 and v2 on fake trees (specs), v1 on the real hierarchy
// as root (test/privileged/cgroups-v1.test.ts). Anything the runtime relies on is asserted here, so a
// driver that passes on the fake and the real tree behaves the same for the runtime.

export interface ConformanceHarness {
  driver: CgroupDriver;
  fs: CgroupFs;
  /** A process outside any container cgroup that runs until killed. */
  startProcess(): Promise<number>;
  isAlive(pid: number): Promise<boolean>;
  /** Removes everything the harness made (runs even when a test failed). */
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

export function runCgroupConformance(name: string, setup: () => Promise<ConformanceHarness>): void {
  describe(`${name}: CgroupDriver conformance`, () => {
    let h: ConformanceHarness;
    let driver: CgroupDriver;

    beforeEach(async () => {
      h = await setup();
      driver = h.driver;
    });

    afterEach(async () => {
      try {
        for (const id of await driver.list()) await (await driver.open(id))?.destroy();
        await driver.removeParent();
      } finally {
        await h.cleanup();
      }
    });

    it('throttles block I/O per device, reads the throttles back and counts I/O in stats', async () => {
      // The disk holding / : a device the real kernel accepts; the fake takes any.
      const disk = diskHolding('/') ?? { major: 254, minor: 0 };
      const MB = 1024 * 1024;
      const cg = await driver.create('io1', {
        blkio: {
          readBps: [{ ...disk, rate: 4 * MB }],
          writeBps: [{ ...disk, rate: MB }],
          writeIops: [{ ...disk, rate: 100 }],
        },
      });
      const back = await cg.readLimits();
      expect(back.blkio?.readBps).toEqual([{ ...disk, rate: 4 * MB }]);
      expect(back.blkio?.writeBps).toEqual([{ ...disk, rate: MB }]);
      expect(back.blkio?.writeIops).toEqual([{ ...disk, rate: 100 }]);
      expect(back.blkio?.readIops).toBeUndefined();
      const io = (await cg.stats()).io;
      expect(io).not.toBeNull();
      expect(io!.readBytes).toBe(io!.devices.reduce((n, d) => n + d.readBytes, 0));
      await expect(driver.create('io2', { blkio: { writeBps: [{ ...disk, rate: 0 }] } })).rejects.toThrow(
        /positive rate/,
      );
      await expect(driver.create('io3', { blkio: { weight: 5 } })).rejects.toThrow(/from 10 to 1000/);
      expect(await driver.open('io2')).toBeNull();
    });

    it('creates a cgroup in every hierarchy under the parent, lists, opens and destroys it', async () => {
      const cg = await driver.create('c1');
      const dirs = Object.values(cg.paths);
      expect(dirs.length).toBeGreaterThan(0);
      for (const [key, dir] of Object.entries(cg.paths)) {
        expect(dir.startsWith(driver.parentPaths[key] + '/')).toBe(true);
        expect(await h.fs.exists(dir)).toBe(true);
      }
      expect(await driver.list()).toEqual(['c1']);
      expect((await driver.open('c1'))?.id).toBe('c1');

      await cg.destroy();
      for (const dir of dirs) expect(await h.fs.exists(dir)).toBe(false);
      expect(await driver.list()).toEqual([]);
      expect(await driver.open('c1')).toBeNull();
      await cg.destroy(); // idempotent
    });

    it('refuses a duplicate id and ids that are not one safe path segment', async () => {
      await driver.create('dup');
      await expect(driver.create('dup')).rejects.toMatchObject({ code: 'EXISTS' });
      for (const bad of ['', '..', 'a/b', '../escape', '.hidden', 'x'.repeat(200)]) {
        await expect(driver.create(bad)).rejects.toMatchObject({ code: 'INVALID_ID' });
      }
    });

    it('applies limits and reads them back; memory+swap defaults to memory', async () => {
      const cg = await driver.create('limits', {
        memoryBytes: 64 * MiB,
        nanoCpus: 500_000_000,
        cpuShares: 512,
        pidsLimit: 50,
        cpusetCpus: '0',
      });
      const l = await cg.readLimits();
      expect(l.memoryBytes).toBe(64 * MiB);
      if (l.memorySwapBytes !== undefined) expect(l.memorySwapBytes).toBe(64 * MiB); // no swap past the cap
      expect(l.cpuQuotaUs).toBe(50_000);
      expect(l.cpuPeriodUs).toBe(100_000);
      if (driver.mode === 'v1') expect(l.cpuShares).toBe(512);
      else expect(l.cpuWeight).toBe(1 + Math.floor((510 * 9999) / 262142));
      expect(l.pidsLimit).toBe(50);
      expect(l.cpusetCpus).toBe('0');
    });

    it('raises and lowers memory with swap in either order, and lifts limits with -1 / 0', async () => {
      const cg = await driver.create('resize', { memoryBytes: 32 * MiB });
      await cg.setLimits({ memoryBytes: 128 * MiB });
      expect((await cg.readLimits()).memoryBytes).toBe(128 * MiB);
      await cg.setLimits({ memoryBytes: 16 * MiB });
      expect((await cg.readLimits()).memoryBytes).toBe(16 * MiB);
      await cg.setLimits({ memoryBytes: 64 * MiB, memorySwapBytes: 96 * MiB });
      const withSwap = await cg.readLimits();
      expect(withSwap.memoryBytes).toBe(64 * MiB);
      if (withSwap.memorySwapBytes !== undefined) expect(withSwap.memorySwapBytes).toBe(96 * MiB);
      await cg.setLimits({ memoryBytes: -1, memorySwapBytes: -1, nanoCpus: 0, pidsLimit: 0 });
      const lifted = await cg.readLimits();
      expect(lifted.memoryBytes).toBe(-1);
      expect(lifted.cpuQuotaUs).toBe(-1);
      expect(lifted.pidsLimit).toBe(-1);
    });

    it('rejects invalid limits before touching the kernel, naming the field', async () => {
      const cg = await driver.create('invalid');
      await expect(cg.setLimits({ memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB })).rejects.toThrow(
        /memorySwapBytes .* below memoryBytes/,
      );
      await expect(cg.setLimits({ nanoCpus: -5 })).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
      await expect(cg.setLimits({ cpusetCpus: 'all' })).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
    });

    it('reports a kernel refusal with the operation, path and errno', async () => {
      const cg = await driver.create('refused');
      const err = await cg.setLimits({ cpusetCpus: '999' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CgroupError);
      expect((err as CgroupError).message).toMatch(/^write \/.*\/refused\/cpuset\.cpus: E[A-Z]+/);
    });

    it('rolls back a create whose limits the kernel refuses', async () => {
      await expect(driver.create('rollback', { cpusetCpus: '999' })).rejects.toBeInstanceOf(CgroupError);
      expect(await driver.list()).toEqual([]);
    });

    it('moves a process in, lists it, and reports stats', async () => {
      const cg = await driver.create('procs', { memoryBytes: 64 * MiB, pidsLimit: 20 });
      const pid = await h.startProcess();
      await cg.addProcess(pid);
      expect(await cg.pids()).toEqual([pid]);
      const s = await cg.stats();
      expect(s.pids.current).toBeGreaterThanOrEqual(1);
      expect(s.pids.limit).toBe(20);
      expect(s.memory.limitBytes).toBe(64 * MiB);
      expect(s.memory.usageBytes).toBeGreaterThanOrEqual(0);
      expect(s.memory.workingSetBytes).toBeLessThanOrEqual(s.memory.usageBytes);
      expect(s.memory.oomKills).toBe(0);
      expect(Object.keys(s.memory.stat).length).toBeGreaterThan(0);
      for (const v of Object.values(s.cpu)) expect(Number.isFinite(v) && v >= 0).toBe(true);
      expect(s.cpu.usageNs).toBeGreaterThanOrEqual(s.cpu.userNs);
    });

    it('refuses a pid that is not a process id', async () => {
      const cg = await driver.create('badpid');
      await expect(cg.addProcess(0)).rejects.toMatchObject({ code: 'INVALID_PID' });
    });

    it('freezes and thaws', async () => {
      const cg = await driver.create('freeze');
      await cg.addProcess(await h.startProcess());
      await cg.freeze();
      await cg.thaw();
      expect((await cg.pids()).length).toBe(1);
    });

    it('killAll signals every process in the cgroup', async () => {
      const cg = await driver.create('kill');
      const pids = [await h.startProcess(), await h.startProcess()];
      for (const pid of pids) await cg.addProcess(pid);
      await cg.killAll('SIGKILL');
      await waitFor(async () => (await cg.pids()).length === 0);
      for (const pid of pids) expect(await h.isAlive(pid)).toBe(false);
    });

    it('destroy kills what is left, waits for it to leave and removes every directory', async () => {
      const cg = await driver.create('destroy', { memoryBytes: 64 * MiB });
      const pid = await h.startProcess();
      await cg.addProcess(pid);
      await cg.destroy();
      expect(await h.isAlive(pid)).toBe(false);
      for (const dir of Object.values(cg.paths)) expect(await h.fs.exists(dir)).toBe(false);
      expect(await driver.list()).toEqual([]);
    });

    it('destroys a cgroup that exists in only some hierarchies (a crash mid-create)', async () => {
      const cg = await driver.create('partial');
      const [first] = Object.values(cg.paths);
      for (const dir of Object.values(cg.paths).slice(1)) await h.fs.rmdir(dir);
      expect(await h.fs.exists(first)).toBe(true);
      const reopened = await driver.open('partial');
      expect(reopened).not.toBeNull();
      await reopened!.destroy();
      expect(await h.fs.exists(first)).toBe(false);
    });
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
