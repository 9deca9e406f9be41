/**
 * One reading of a running container's cgroup, or (final = true) its totals at exit.
 * Counters (CPU, throttling, OOM kills) are cumulative since the container's process started,
 * so a lost or repeated sample never skews a total: rollups take differences between
 * consecutive samples of one run (container id + pid).
 */
export interface UsageSample {
  /** Fixed when taken; the job id and the row's primary key, so a retried job is one row. */
  id: string;
  containerId: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  node: string;
  /** Host pid of the container's PID 1: tells one run of a restarted container from the next. */
  pid: number;
  sampledAt: string;
  final: boolean;
  cpuNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  memoryBytes: number;
  /** usage − inactive_file: the memory the kernel cannot just drop (what `docker stats` shows). */
  workingSetBytes: number;
  /** High-water mark of usage; null where the kernel keeps none (v2 before 5.19). */
  memoryPeakBytes: number | null;
  pids: number;
  throttledPeriods: number;
  throttledNs: number;
  /** null where the kernel does not count OOM kills (v1 before 4.13). */
  oomKills: number | null;
  /**
   * Block I/O since the run started (bytes, operations); null where the host has no block I/O
   * controller. Optional so samples queued by an older Warden still parse.
   */
  ioReadBytes?: number | null;
  ioWriteBytes?: number | null;
  ioReadOps?: number | null;
  ioWriteOps?: number | null;
  /**
   * Bytes the container's volumes hold (issue 17): their sum, and each volume's by name (null:
   * not measured, a plain volume too big for a bounded du). Null/absent without volumes.
   */
  volumeBytes?: number | null;
  volumes?: Record<string, number | null> | null;
}

/** One hour of usage for one label key=value, summed over the containers that carry it. */
export interface UsageRollup {
  hour: string;
  label: string;
  value: string;
  containers: number;
  samples: number;
  cpuSeconds: number;
  /** Working set integrated over time between samples: GiB-hours = this / 2^30 / 3600. */
  workingSetByteSeconds: number;
  workingSetMaxBytes: number;
  memoryPeakBytes: number;
  throttledNs: number;
  oomKills: number;
  /** Bytes read and written from block devices in the hour. */
  ioReadBytes: number;
  ioWriteBytes: number;
}
