import { constants as osConstants } from 'node:os';

/**
 * The syscalls the service makes itself. Everything here must be safe to call from a
 * multithreaded process (Node has ~7 threads from the start); namespace and credential
 * changes belong to the init shim, never here (see DESIGN.md, "The runtime").
 *
 * `libc.ts` implements this with koffi; tests and other modules may substitute a recorder.
 */
export interface Syscalls {
  /** pidfd_open(2): a stable handle on a process, immune to pid reuse. Close it with `close`. */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2): signals exactly the process the pidfd names, even if its pid was reused. */
  pidfdSendSignal(pidfd: number, signal: number | NodeJS.Signals): void;
  /**
   * waitid(P_PIDFD, pidfd, WEXITED | WNOHANG): null while the child still runs.
   * It reaps the child, so never combine it with child_process's own 'exit' tracking for the
   * same process: libuv's later waitpid gets ECHILD and 'exit' never fires.
   */
  waitPidfd(pidfd: number): WaitResult | null;
  /**
   * prctl(PR_SET_CHILD_SUBREAPER): orphaned container processes are reparented to us, not
   * pid 1, so we can reap them. `false` turns it off again.
   */
  setChildSubreaper(enabled?: boolean): void;
  /** getsockopt(SO_PEERCRED) on a connected unix socket: who is on the other end (auth by uid). */
  peerCredentials(fd: number): PeerCredentials;
  /** statfs(2) f_type, e.g. CGROUP2_SUPER_MAGIC tells a v2 mount from a v1 or tmpfs one. */
  statfsType(path: string): number;
  /** capget(2) for this process plus the bounding set read with prctl(PR_CAPBSET_READ). */
  capabilities(): CapabilitySets;
  getrlimit(resource: RlimitResource): Rlimit;
  uname(): Uname;
  close(fd: number): void;
  /**
   * openat2(2): `path` opened relative to `dirfd` with `resolve` (RESOLVE_* flags, e.g.
   * RESOLVE_IN_ROOT). ENOSYS on kernels before 5.6.
   */
  openat2(dirfd: number, path: string, flags: number, resolve: number): number;
  /**
   * mknod(2) for device nodes and fifos (`mode` includes S_IFCHR/S_IFBLK/S_IFIFO). Node has
   * no API for it; layer unpacking needs it for overlay whiteouts (0/0 char devices).
   */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): on the entry itself, never a symlink's target (overlay's trusted.overlay.opaque). */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2); undefined when the entry has no such attribute (ENODATA). */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): what Node's own 'pipe' stdio is made of. */
  socketpair(): [number, number];
  /**
   * posix_spawn(3): starts `path` with fd i of the child = `fds[i]` (every other fd of ours
   * is close-on-exec), all signals at their defaults and none blocked, in a new session when
   * `setsid`. glibc does it with clone(CLONE_VM | CLONE_VFORK), which is safe from a
   * multithreaded process and costs the same from a 200 MB one as from a small one, unlike
   * child_process.spawn's fork (its page-table copy alone took 2-4 ms per launch here).
   * The child is not libuv's: reap it with `waitPidfd` (or `waitpid`).
   */
  spawn(path: string, argv: string[], env: string[], fds: number[], opts?: { setsid?: boolean }): number;
  /** waitpid(pid, WNOHANG) for a child started by `spawn`: null while it still runs. */
  waitpid(pid: number): WaitResult | null;
}

/**
 * flock(2), apart from `Syscalls` because the instance lock (runtime/host/instance-lock.ts)
 * takes it before anything else of the runtime exists. A flock belongs to the open file
 * description: it lasts exactly as long as the fd (the process's life, or until closed), so
 * a lock file left behind by a killed process never blocks the next one.
 */
export interface FileLocks {
  /** flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it. */
  tryLockExclusive(fd: number): boolean;
}

/**
 * mount(2) and umount2(2) in the service's own mount namespace (the host's), apart from
 * `Syscalls` because only the pool of sized writable layers uses them, to hand a mounted
 * filesystem from one directory to another without starting `mount` twice. Safe from a
 * multithreaded process: the mount namespace is the process's, not a thread's.
 */
export interface Mounts {
  /** mount(from, to, MS_BIND): `to` shows the mount at `from`, with its flags (nosuid, nodev). */
  bind(from: string, to: string): void;
  /** umount2(path, MNT_DETACH): the mount at `path` goes now; its filesystem stays while another mount of it does. */
  detach(path: string): void;
}

export type WaitCode = 'CLD_EXITED' | 'CLD_KILLED' | 'CLD_DUMPED';

/** `status` is the exit code for CLD_EXITED and the signal number for CLD_KILLED/CLD_DUMPED. */
export interface WaitResult {
  pid: number;
  code: WaitCode;
  status: number;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Bit n set = capability n held (CAP_SYS_ADMIN is bit 21). */
export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  bounding: bigint;
}

export type RlimitValue = bigint | 'unlimited';

export interface Rlimit {
  soft: RlimitValue;
  hard: RlimitValue;
}

export interface Uname {
  sysname: string;
  release: string;
  version: string;
  machine: string;
}

// Resource numbers from asm-generic/resource.h (x86_64 and arm64 share them).
export const RLIMIT_RESOURCES = {
  CPU: 0,
  FSIZE: 1,
  DATA: 2,
  STACK: 3,
  CORE: 4,
  RSS: 5,
  NPROC: 6,
  NOFILE: 7,
  MEMLOCK: 8,
  AS: 9,
} as const;

export type RlimitResource = keyof typeof RLIMIT_RESOURCES;

// linux/magic.h
export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const CGROUP_SUPER_MAGIC = 0x27e0eb;
export const TMPFS_MAGIC = 0x01021994;

// linux/openat2.h
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_IN_ROOT = 0x10;
/** O_PATH: the same value on x86_64 and arm64 (node's fs.constants does not export it). */
export const O_PATH = 0o10000000;

// sys/stat.h file types, for mknod's mode.
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/**
 * errno → its name. Two names share a number on Linux (EAGAIN/EWOULDBLOCK, ENOTSUP/EOPNOTSUPP):
 * the first one listed, the one callers test for, is kept (the later alias used to win, so
 * openat2's EAGAIN came as EWOULDBLOCK and RootDir never retried it).
 */
const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno))
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

/** A failed syscall: `pidfd_open: ESRCH (3)`; `code`/`errno` let callers branch without parsing. */
export class SyscallError extends Error {
  readonly code: string;

  constructor(
    readonly syscall: string,
    readonly errno: number,
    detail?: string,
  ) {
    const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
    super(`${syscall}: ${code} (${errno})${detail ? `: ${detail}` : ''}`);
    this.name = 'SyscallError';
    this.code = code;
  }
}

export function signalNumber(signal: number | NodeJS.Signals): number {
  if (typeof signal === 'number') return signal;
  const n = osConstants.signals[signal];
  if (n === undefined) throw new Error(`unknown signal ${signal}`);
  return n;
}
