import { join } from 'node:path';
import { CgroupLimits, CgroupLimitsReadback, CgroupStats } from '../cgroup-driver';
import { CgroupFs, parseKeyValues, parseLimit } from '../cgroup-fs';
import { resolveMemory } from '../limits';

// v2 memory controller (Documentation/admin-guide/cgroup-v2.rst, "Memory"). Unlike v1, memory.swap.max is
// swap alone, not memory+swap, and the two limits are independent, so no write ordering is needed.

const max = (n: number): string => (n === -1 ? 'max' : String(n));

export async function applyMemoryV2(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  const { memory, memsw } = resolveMemory(limits);
  if (memory !== undefined) await fs.write(join(dir, 'memory.max'), max(memory));
  if (memsw === undefined) return;
  const swapFile = join(dir, 'memory.swap.max');
  if (!(await fs.exists(swapFile))) return; // no swap accounting (CONFIG_MEMCG_SWAP off): nothing to cap
  const memoryNow = memory ?? parseLimit(await fs.read(join(dir, 'memory.max')));
  const swap = memsw === -1 || memoryNow === -1 ? -1 : memsw - memoryNow;
  await fs.write(swapFile, max(swap));
}

export async function readMemoryLimitsV2(
  fs: CgroupFs,
  dir: string,
): Promise<Pick<CgroupLimitsReadback, 'memoryBytes' | 'memorySwapBytes'>> {
  const memoryBytes = parseLimit(await fs.read(join(dir, 'memory.max')));
  const swapText = await fs.readOptional(join(dir, 'memory.swap.max'));
  if (swapText === null) return { memoryBytes };
  const swap = parseLimit(swapText);
  // Reported in Docker's memory+swap terms, like the v1 driver.
  return { memoryBytes, memorySwapBytes: swap === -1 || memoryBytes === -1 ? -1 : memoryBytes + swap };
}

export async function memoryStatsV2(fs: CgroupFs, dir: string): Promise<CgroupStats['memory']> {
  const [current, peak, limit, statText, events] = await Promise.all([
    fs.read(join(dir, 'memory.current')),
    fs.readOptional(join(dir, 'memory.peak')), // kernel 5.19+
    fs.read(join(dir, 'memory.max')),
    fs.read(join(dir, 'memory.stat')),
    fs.readOptional(join(dir, 'memory.events')),
  ]);
  const stat = parseKeyValues(statText);
  const usageBytes = Number(current.trim());
  // oom_kill in memory.events counts OOM-killer victims in this cgroup and (unless mounted with
  // memory_localevents) its descendants; "oom" counts limit hits, which reclaim may have survived.
  const oomKill = events === null ? undefined : parseKeyValues(events).oom_kill;
  return {
    usageBytes,
    peakBytes: peak === null ? null : Number(peak.trim()),
    workingSetBytes: Math.max(0, usageBytes - (stat.inactive_file ?? 0)),
    limitBytes: parseLimit(limit),
    stat,
    oomKills: oomKill ?? null,
  };
}
