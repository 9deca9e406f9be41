import { join } from 'node:path';
import { CgroupLimits, CgroupLimitsReadback, CgroupStats, CPU_PERIOD_US } from '../cgroup-driver';
import { CgroupFs, parseKeyValues } from '../cgroup-fs';
import { cpuQuotaUs, sharesToWeight, validateCpuShares } from '../limits';

// v2 cpu controller: cpu.max holds "$QUOTA $PERIOD" in one file (no ordering problem as in v1), and
// cpu.weight replaces shares. cpu.stat exists even without the cpu controller enabled (usage only).

export async function applyCpuV2(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  if (limits.nanoCpus !== undefined) {
    const quota = cpuQuotaUs(limits.nanoCpus);
    await fs.write(join(dir, 'cpu.max'), `${quota === -1 ? 'max' : quota} ${CPU_PERIOD_US}`);
  }
  if (limits.cpuShares !== undefined && limits.cpuShares !== 0) {
    validateCpuShares(limits.cpuShares);
    await fs.write(join(dir, 'cpu.weight'), String(sharesToWeight(limits.cpuShares)));
  }
}

export async function readCpuLimitsV2(
  fs: CgroupFs,
  dir: string,
): Promise<Pick<CgroupLimitsReadback, 'cpuQuotaUs' | 'cpuPeriodUs' | 'cpuWeight'>> {
  const [cpuMax, weight] = await Promise.all([
    fs.read(join(dir, 'cpu.max')),
    fs.read(join(dir, 'cpu.weight')),
  ]);
  const [quota = 'max', period = String(CPU_PERIOD_US)] = cpuMax.trim().split(/\s+/);
  return {
    cpuQuotaUs: quota === 'max' ? -1 : Number(quota),
    cpuPeriodUs: Number(period),
    cpuWeight: Number(weight.trim()),
  };
}

/** v2 cpu.stat reports µs; converted to ns to match v1. */
export async function cpuStatsV2(fs: CgroupFs, dir: string): Promise<CgroupStats['cpu']> {
  const s = parseKeyValues(await fs.read(join(dir, 'cpu.stat')));
  return {
    usageNs: (s.usage_usec ?? 0) * 1000,
    userNs: (s.user_usec ?? 0) * 1000,
    systemNs: (s.system_usec ?? 0) * 1000,
    nrPeriods: s.nr_periods ?? 0,
    nrThrottled: s.nr_throttled ?? 0,
    throttledNs: (s.throttled_usec ?? 0) * 1000,
  };
}
