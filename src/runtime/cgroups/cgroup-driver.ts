// The one interface the runtime uses for cgroups. Two implementations sit behind it: the v1 driver
// (one directory per controller hierarchy, as on this machine) and the v2 driver (one unified tree).
// Like runc's fs/fs2 split, everything above this file is version-agnostic.

export type CgroupMode = 'v1' | 'v2';

/** Resource limits, in Docker's units (HostConfig) so the runtime can pass them through unchanged. */
export interface CgroupLimits {
  /** Memory cap in bytes; -1 = unlimited. */
  memoryBytes?: number;
  /**
   * Memory + swap in bytes (Docker's MemorySwap); -1 = unlimited swap. When memoryBytes is set and this is
   * not, it defaults to memoryBytes: no swap beyond the cap. Ignored where the kernel has no swap accounting.
   */
  memorySwapBytes?: number;
  /** CPU in units of 1e-9 CPUs (Docker's NanoCpus); 0 = unlimited. Converted to quota/period. */
  nanoCpus?: number;
  /** Relative CPU weight in v1 shares (2..262144); v2 converts to cpu.weight. */
  cpuShares?: number;
  /** Maximum number of tasks; 0 or -1 = unlimited. */
  pidsLimit?: number;
  /** CPUs the cgroup may run on, kernel list syntax ("0-1,3"). */
  cpusetCpus?: string;
  /** Memory nodes; defaults to the parent's on v1 (the kernel refuses tasks while it is empty). */
  cpusetMems?: string;
  /** Block I/O: a relative weight and per-device throttles (Docker's Blkio* fields). */
  blkio?: BlkioLimits;
}

/** A throttle on one block device, named by its major:minor (the kernel's key). */
export interface DeviceRate {
  major: number;
  minor: number;
  /** bytes or operations per second */
  rate: number;
}

export interface BlkioLimits {
  /** Docker's BlkioWeight, 10..1000; v2 maps it onto io.weight's 1..10000. */
  weight?: number;
  readBps?: DeviceRate[];
  writeBps?: DeviceRate[];
  readIops?: DeviceRate[];
  writeIops?: DeviceRate[];
}

export const BLKIO_THROTTLES = ['readBps', 'writeBps', 'readIops', 'writeIops'] as const;
export type BlkioThrottle = (typeof BLKIO_THROTTLES)[number];

/** What the kernel reports back, in kernel units; absent where the file does not exist. */
export interface CgroupLimitsReadback {
  memoryBytes: number; // -1 = unlimited
  memorySwapBytes?: number; // memory+swap; -1 = unlimited; absent without swap accounting
  cpuQuotaUs: number; // -1 = unlimited
  cpuPeriodUs: number;
  cpuShares?: number; // v1
  cpuWeight?: number; // v2
  pidsLimit: number; // -1 = unlimited
  cpusetCpus: string;
  cpusetMems: string;
  /** Absent where the host has no block I/O controller for containers. */
  blkio?: BlkioLimits;
}

export interface CgroupStats {
  cpu: {
    usageNs: number;
    userNs: number;
    systemNs: number;
    nrPeriods: number;
    nrThrottled: number;
    throttledNs: number;
  };
  memory: {
    usageBytes: number;
    /** High-water mark; null where the kernel has none (v2 before 5.19 has no memory.peak). */
    peakBytes: number | null;
    /** usage − inactive file pages: what the kernel cannot simply drop; the number Docker and kubelet show. */
    workingSetBytes: number;
    limitBytes: number; // -1 = unlimited
    /** The memory.stat map as the kernel wrote it. */
    stat: Record<string, number>;
    /** OOM kills inside this cgroup; null where the kernel does not count them (v1 before 4.13). */
    oomKills: number | null;
  };
  pids: { current: number; limit: number }; // limit -1 = unlimited
  /** Block I/O done by the cgroup, summed over devices, with each device's share; null without a controller. */
  io: IoStats | null;
}

export interface IoStats {
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
  devices: Array<{
    major: number;
    minor: number;
    readBytes: number;
    writeBytes: number;
    readOps: number;
    writeOps: number;
  }>;
}

export interface CgroupHandle {
  readonly id: string;
  /** Directory of this cgroup in each hierarchy (v1: per mount; v2: one entry, "unified"). */
  readonly paths: Readonly<Record<string, string>>;
  /** Moves a process (all of its threads) into the cgroup in every hierarchy. */
  addProcess(pid: number): Promise<void>;
  /**
   * v1: each hierarchy's `tasks` file, for a single-threaded process to move itself into by
   * writing "0" (the init shim does; much cheaper for the kernel than addProcess, see
   * native/shim/main.c). Absent where a process cannot (v2: the service uses addProcess).
   */
  readonly selfJoinFiles?: readonly string[];
  setLimits(limits: CgroupLimits): Promise<void>;
  readLimits(): Promise<CgroupLimitsReadback>;
  stats(): Promise<CgroupStats>;
  /** Every process in the cgroup (union over hierarchies), sorted. */
  pids(): Promise<number[]>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Signals every process; frozen first so a forking process cannot escape between read and kill. */
  killAll(signal?: NodeJS.Signals): Promise<void>;
  /**
   * SIGKILLs what is left, waits until the cgroup is empty and removes its directory in every hierarchy.
   * Idempotent: destroying a destroyed (or half-created) cgroup succeeds.
   */
  destroy(options?: { timeoutMs?: number }): Promise<void>;
}

export interface CgroupDriver {
  readonly mode: CgroupMode;
  /** Name of the parent cgroup all containers live under (default "warden"). */
  readonly parentName: string;
  /** Directory of the parent cgroup in each hierarchy. */
  readonly parentPaths: Readonly<Record<string, string>>;
  /** Creates the cgroup in every hierarchy and applies limits; rolls back on failure. */
  create(id: string, limits?: CgroupLimits): Promise<CgroupHandle>;
  /** The cgroup if it exists in any hierarchy (also half-created ones, so they can be destroyed). */
  open(id: string): Promise<CgroupHandle | null>;
  /** Ids of every cgroup under the parent, in any hierarchy: what a restarted service must adopt or clean. */
  list(): Promise<string[]>;
  /** Removes the parent directories if they are empty (tests, uninstall); never removes a non-empty one. */
  removeParent(): Promise<void>;
}

/** Container ids become directory names: one path segment, nothing the kernel or a shell would misread. */
export const CGROUP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** CFS period used for Docker's NanoCpus, as Docker does: 100 ms. */
export const CPU_PERIOD_US = 100_000;
