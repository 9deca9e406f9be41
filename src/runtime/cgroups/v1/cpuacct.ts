import { join } from 'node:path';
import { CgroupStats } from '../cgroup-driver';
import { CgroupFs, parseKeyValues } from '../cgroup-fs';

// v1 cpuacct controller: CPU time used, in ns. Numbers stay exact up to 2^53 ns (~104 CPU-days), far
// beyond a usage sample's needs.

// cpuacct.stat counts in USER_HZ ticks, which the kernel ABI fixes at 100 per second.
const NS_PER_USER_HZ_TICK = 1e9 / 100;

export async function cpuUsageV1(
  fs: CgroupFs,
  dir: string,
): Promise<Pick<CgroupStats['cpu'], 'usageNs' | 'userNs' | 'systemNs'>> {
  const [usage, user, sys] = await Promise.all([
    fs.read(join(dir, 'cpuacct.usage')),
    fs.readOptional(join(dir, 'cpuacct.usage_user')),
    fs.readOptional(join(dir, 'cpuacct.usage_sys')),
  ]);
  if (user !== null && sys !== null) {
    // ns-precision split (kernel 4.7+).
    return { usageNs: Number(usage.trim()), userNs: Number(user.trim()), systemNs: Number(sys.trim()) };
  }
  const stat = parseKeyValues(await fs.read(join(dir, 'cpuacct.stat')));
  return {
    usageNs: Number(usage.trim()),
    userNs: (stat.user ?? 0) * NS_PER_USER_HZ_TICK,
    systemNs: (stat.system ?? 0) * NS_PER_USER_HZ_TICK,
  };
}
