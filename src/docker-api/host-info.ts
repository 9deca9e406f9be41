import * as fs from 'node:fs';

// USER_HZ: /proc/stat counts in clock ticks of 1/100 s on Linux.
const NS_PER_TICK = 1e9 / 100;

/** All CPUs' time since boot in ns (the first line of /proc/stat): Docker's system_cpu_usage. */
export function systemCpuNs(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .reduce((n, v) => n + Number(v), 0);
  return ticks * NS_PER_TICK;
}
