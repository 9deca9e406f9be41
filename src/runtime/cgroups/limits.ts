import { CgroupLimits, CPU_PERIOD_US } from './cgroup-driver';
import { CgroupError } from './cgroup.errors';

// Version-independent arithmetic on Docker-style limits, shared by both drivers.

export interface ResolvedMemory {
  memory?: number; // -1 = unlimited
  memsw?: number; // memory+swap; -1 = unlimited
}

/**
 * Docker's MemorySwap is memory+swap. Warden's rule (DESIGN "Limits"): when only memory is given, memory+swap
 * equals it, so a container never swaps past its cap.
 */
export function resolveMemory(limits: CgroupLimits): ResolvedMemory {
  const { memoryBytes: memory, memorySwapBytes: swap } = limits;
  for (const [name, v] of [
    ['memoryBytes', memory],
    ['memorySwapBytes', swap],
  ] as const) {
    if (v !== undefined && v !== -1 && !(Number.isSafeInteger(v) && v > 0)) {
      throw new CgroupError('INVALID_LIMIT', `${name} ${v} must be a positive integer or -1 (unlimited)`);
    }
  }
  if (swap !== undefined && swap !== -1 && (memory === undefined || memory === -1)) {
    throw new CgroupError(
      'INVALID_LIMIT',
      `memorySwapBytes ${swap} needs a memory limit: set memoryBytes too`,
    );
  }
  if (swap !== undefined && swap !== -1 && memory !== undefined && swap < memory) {
    throw new CgroupError(
      'INVALID_LIMIT',
      `memorySwapBytes ${swap} is below memoryBytes ${memory}: it is memory+swap, so it must be at least the memory limit`,
    );
  }
  if (memory === undefined) return { memsw: swap };
  return { memory, memsw: swap ?? memory };
}

/** NanoCpus → CFS quota in µs over CPU_PERIOD_US; -1 = no quota. */
export function cpuQuotaUs(nanoCpus: number): number {
  if (!Number.isSafeInteger(nanoCpus) || nanoCpus < 0) {
    throw new CgroupError(
      'INVALID_LIMIT',
      `nanoCpus ${nanoCpus} must be a non-negative integer (0 = unlimited)`,
    );
  }
  if (nanoCpus === 0) return -1;
  // The kernel refuses quotas under 1 ms (EINVAL); Docker rejects below 0.01 CPU for the same reason.
  return Math.max(1000, Math.round((nanoCpus * CPU_PERIOD_US) / 1e9));
}

/** The shares → cpu.weight mapping runc and crun use, so a container gets the same weight under either. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 100; // Docker's "unset"; 100 is the v2 default weight
  const clamped = Math.min(262144, Math.max(2, shares));
  return 1 + Math.floor(((clamped - 2) * 9999) / 262142);
}

export function validateCpuShares(shares: number): void {
  if (!Number.isSafeInteger(shares) || shares < 0) {
    throw new CgroupError('INVALID_LIMIT', `cpuShares ${shares} must be a non-negative integer (2..262144)`);
  }
}

/** pids.max value: 0 and -1 mean unlimited, as in Docker's PidsLimit. */
export function pidsMax(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < -1) {
    throw new CgroupError(
      'INVALID_LIMIT',
      `pidsLimit ${limit} must be a positive integer, 0 or -1 (unlimited)`,
    );
  }
  return limit <= 0 ? 'max' : String(limit);
}

export function validateCpuList(name: string, list: string): void {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) {
    throw new CgroupError('INVALID_LIMIT', `${name} "${list}" is not a CPU/node list like "0-3,5"`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
