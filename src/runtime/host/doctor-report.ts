import type { Syscalls } from '../../platform/ffi';

export type DoctorStatus = 'ok' | 'missing' | 'warn';

/** JSON-safe on purpose: `JSON.stringify(report)` must work, so bigints travel as strings. */
export type DoctorDetail = Record<string, string | number | boolean | string[] | null>;

export interface DoctorItem {
  /** Stable, dotted: `namespace.pid`, `cgroup.v1.memory`, `capability.CAP_SYS_RESOURCE`. */
  id: string;
  label: string;
  status: DoctorStatus;
  /** What was measured, short enough for a table cell. */
  value: string;
  /** What this means for the user of Warden. */
  meaning: string;
  /**
   * Whether containers can run without it. `missing` says only that the thing is absent
   * (CAP_SYS_RESOURCE is missing on the reference host, and that is fine); the summary
   * refuses to run containers only when a required item is missing.
   */
  required: boolean;
  /** Machine-readable measurements behind `value`, for `--json` consumers. */
  detail?: DoctorDetail;
}

export interface DoctorSummary {
  canRunContainers: boolean;
  /** Why containers cannot run; empty when they can. */
  reasons: string[];
}

export interface DoctorReport {
  generatedAt: string;
  durationMs: number;
  items: DoctorItem[];
  summary: DoctorSummary;
}

export interface DoctorOptions {
  /** Substitute a recorder in tests; defaults to the koffi-backed libc. */
  syscalls?: Syscalls;
  /**
   * Where the overlay and pivot_root probes make their scratch dirs. Pass WARDEN_DATA_DIR's
   * filesystem to learn whether overlay works where container layers will actually live.
   */
  tmpDir?: string;
  /** Per-command timeout for probes that spawn helpers. */
  commandTimeoutMs?: number;
}

export interface ProbeContext {
  syscalls: Syscalls;
  tmpDir: string;
  commandTimeoutMs: number;
}

export type Probe = (ctx: ProbeContext) => Promise<DoctorItem[]>;
