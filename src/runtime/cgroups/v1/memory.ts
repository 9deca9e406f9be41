import { join } from 'node:path';
import { CgroupLimits, CgroupLimitsReadback, CgroupStats } from '../cgroup-driver';
import { CgroupError, errnoOf } from '../cgroup.errors';
import { CgroupFs, parseKeyValues, parseLimit } from '../cgroup-fs';
import { resolveMemory } from '../limits';

// v1 memory controller (Documentation/admin-guide/cgroup-v1/memory.rst).

const LIMIT = 'memory.limit_in_bytes';
// memory+swap; the file exists only with swap accounting on (CONFIG_MEMCG_SWAP and swapaccount=1).
const MEMSW = 'memory.memsw.limit_in_bytes';

export async function applyMemoryV1(fs: CgroupFs, dir: string, limits: CgroupLimits): Promise<void> {
  const { memory, memsw } = resolveMemory(limits);
  const memswFile = join(dir, MEMSW);
  const swapAccounting = memsw !== undefined && (await fs.exists(memswFile));
  if (!swapAccounting) {
    // Without swap accounting the kernel cannot cap memory+swap; Docker ignores the setting likewise.
    if (memory !== undefined) await writeLimit(fs, join(dir, LIMIT), memory);
    return;
  }
  // The kernel keeps memory.limit ≤ memsw.limit at every step (EINVAL otherwise), so the order depends on
  // the direction: raising memsw goes first, lowering goes second (runc does the same).
  const current = parseLimit(await fs.read(memswFile));
  const raising = memsw === -1 || (current !== -1 && memsw! > current);
  if (raising) await fs.write(memswFile, String(memsw));
  if (memory !== undefined) await writeLimit(fs, join(dir, LIMIT), memory);
  if (!raising) await fs.write(memswFile, String(memsw));
}

async function writeLimit(fs: CgroupFs, path: string, bytes: number): Promise<void> {
  try {
    await fs.write(path, String(bytes));
  } catch (err) {
    if (errnoOf(err) !== 'EBUSY') throw err;
    // Lowering a limit below current usage makes the kernel reclaim first; EBUSY means it could not.
    throw CgroupError.io(
      'write',
      path,
      err,
      `the cgroup uses more than ${bytes} bytes and could not be reclaimed`,
    );
  }
}

export async function readMemoryLimitsV1(
  fs: CgroupFs,
  dir: string,
): Promise<Pick<CgroupLimitsReadback, 'memoryBytes' | 'memorySwapBytes'>> {
  const memsw = await fs.readOptional(join(dir, MEMSW));
  return {
    memoryBytes: parseLimit(await fs.read(join(dir, LIMIT))),
    ...(memsw === null ? {} : { memorySwapBytes: parseLimit(memsw) }),
  };
}

export async function memoryStatsV1(fs: CgroupFs, dir: string): Promise<CgroupStats['memory']> {
  const [usage, peak, limit, statText, oomControl] = await Promise.all([
    fs.read(join(dir, 'memory.usage_in_bytes')),
    fs.readOptional(join(dir, 'memory.max_usage_in_bytes')),
    fs.read(join(dir, LIMIT)),
    fs.read(join(dir, 'memory.stat')),
    fs.readOptional(join(dir, 'memory.oom_control')),
  ]);
  const stat = parseKeyValues(statText);
  const usageBytes = Number(usage.trim());
  // total_* includes child cgroups; cadvisor/kubelet subtract total_inactive_file for the working set.
  const inactiveFile = stat.total_inactive_file ?? stat.inactive_file ?? 0;
  // oom_kill in memory.oom_control (kernel 4.13+) counts processes the OOM killer killed in this cgroup.
  // memory.failcnt only counts hits of the limit (reclaim usually succeeds), so it is no OOM signal.
  const oomKill = oomControl === null ? undefined : parseKeyValues(oomControl).oom_kill;
  return {
    usageBytes,
    peakBytes: peak === null ? null : Number(peak.trim()),
    workingSetBytes: Math.max(0, usageBytes - inactiveFile),
    limitBytes: parseLimit(limit),
    stat,
    oomKills: oomKill ?? null,
  };
}
