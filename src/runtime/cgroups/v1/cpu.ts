import { join } from 'node:path';
import { CgroupLimits, CgroupLimitsReadback, CgroupStats, CPU_PERIOD_US } from '../cgroup-driver';
import { errnoOf } from '../cgroup.errors';
import { CgroupFs, parseKeyValues } from '../cgroup-fs';
import { cpuQuotaUs, validateCpuShares } from '../limits';

// v1 cpu controller: CFS bandwidth (Documentation/scheduler/sched-bwc.rst) and shares. On this machine cpu
// and cpuacct are separate mounts; on most distributions they are co-mounted. Either works because each
// file is addressed through the directory of the hierarchy that holds its controller.

export async function applyCpuV1(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  if (limits.nanoCpus !== undefined) {
    const quota = String(cpuQuotaUs(limits.nanoCpus));
    const period = join(dir, 'cpu.cfs_period_us');
    const quotaFile = join(dir, 'cpu.cfs_quota_us');
    // The kernel validates quota against period on each write; when the old quota makes the new period
    // invalid (EINVAL), writing the quota first works. runc uses the same fallback.
    try {
      await fs.write(period, String(CPU_PERIOD_US));
      await fs.write(quotaFile, quota);
    } catch (err) {
      if (errnoOf(err) !== 'EINVAL') throw err;
      await fs.write(quotaFile, quota);
      await fs.write(period, String(CPU_PERIOD_US));
    }
  }
  if (limits.cpuShares !== undefined && limits.cpuShares !== 0) {
    validateCpuShares(limits.cpuShares);
    await fs.write(join(dir, 'cpu.shares'), String(limits.cpuShares));
  }
}

export async function readCpuLimitsV1(
  fs: CgroupFs,
  dir: string,
): Promise<Pick<CgroupLimitsReadback, 'cpuQuotaUs' | 'cpuPeriodUs' | 'cpuShares'>> {
  const [quota, period, shares] = await Promise.all(
    ['cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares'].map((f) => fs.read(join(dir, f))),
  );
  return {
    cpuQuotaUs: Number(quota.trim()),
    cpuPeriodUs: Number(period.trim()),
    cpuShares: Number(shares.trim()),
  };
}

/** Throttling from cpu.stat; v1 reports throttled_time in ns already. */
export async function cpuThrottlingV1(
  fs: CgroupFs,
  dir: string,
): Promise<Pick<CgroupStats['cpu'], 'nrPeriods' | 'nrThrottled' | 'throttledNs'>> {
  const stat = parseKeyValues(await fs.read(join(dir, 'cpu.stat')));
  return {
    nrPeriods: stat.nr_periods ?? 0,
    nrThrottled: stat.nr_throttled ?? 0,
    throttledNs: stat.throttled_time ?? 0,
  };
}
