import * as os from 'node:os';

/**
 * Docker's system_cpu_usage: all online CPUs' time since boot, in ns, the denominator of the
 * CPU % that `docker stats` derives (container CPU delta / system delta × CPUs). Taken from the
 * monotonic clock (time since boot) times the online CPUs, not summed from /proc/stat as dockerd
 * does: the two agree on a healthy host, but /proc/stat is counted in timer ticks, and a host
 * that misses ticks undercounts it. In the cgroup v2 test guest (an emulated VM on a busy host)
 * /proc/stat advanced 1,111 ticks of 2 CPUs in 11.4 s, half the time, and a busy loop that
 * cpu.max held at 47 % of a CPU showed as 296 % (docs/cgroup-v2-guest.md).
 */
export function systemCpuNs(): number {
  return Number(process.hrtime.bigint()) * os.cpus().length;
}
