// Errors of the cgroup drivers. Each says what failed and where, e.g.
// "write /sys/fs/cgroup/memory/warden/x/memory.limit_in_bytes: EBUSY", and keeps the errno so callers
// (the runtime's error table) can decide; the original error is kept as cause.

export type CgroupErrorCode =
  | 'IO' // a read/write/mkdir/rmdir on cgroupfs failed
  | 'EXISTS' // create() of an id that already has a cgroup
  | 'INVALID_ID'
  | 'INVALID_LIMIT'
  | 'INVALID_PID'
  | 'TIMEOUT' // processes did not leave, or a freeze did not complete
  | 'UNSUPPORTED'; // the hierarchy lacks a controller or layout the driver needs

export class CgroupError extends Error {
  override readonly name = 'CgroupError';

  constructor(
    readonly code: CgroupErrorCode,
    message: string,
    readonly detail: { op?: string; path?: string; errno?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** An I/O failure: "<op> <path>: <ERRNO>" plus an optional hint on what to do. */
  static io(op: string, path: string, cause: unknown, hint?: string): CgroupError {
    const errno = errnoOf(cause) ?? 'EIO';
    const text = `${op} ${path}: ${errno}` + (hint ? ` (${hint})` : '');
    return new CgroupError('IO', text, { op, path, errno }, { cause });
  }

  /** A synthetic errno failure, as the kernel would raise it (used by the fake cgroupfs). */
  static errno(op: string, path: string, errno: string): CgroupError {
    return new CgroupError('IO', `${op} ${path}: ${errno}`, { op, path, errno });
  }
}

export function errnoOf(err: unknown): string | undefined {
  if (err instanceof CgroupError) return err.detail.errno;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}
