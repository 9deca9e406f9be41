// The only file in the project that imports koffi (STYLE.md habit 8). Every call here is
// synchronous on the calling thread: koffi's `.async` runs the call on a pool thread, where
// per-thread state (errno, and for some calls the credentials/namespaces) is not ours.
import * as koffi from 'koffi';
import {
  CapabilitySets,
  PeerCredentials,
  RLIMIT_RESOURCES,
  Rlimit,
  RlimitResource,
  RlimitValue,
  FileLocks,
  Mounts,
  SyscallError,
  Syscalls,
  Uname,
  WaitCode,
  WaitResult,
  signalNumber,
} from './syscalls';

// Constants from the kernel uapi headers; identical on x86_64 and arm64.
const P_PIDFD = 3;
const WNOHANG = 1;
const WEXITED = 4;
const CLD_CODES: Record<number, WaitCode> = { 1: 'CLD_EXITED', 2: 'CLD_KILLED', 3: 'CLD_DUMPED' };
const PR_CAPBSET_READ = 23;
const PR_SET_CHILD_SUBREAPER = 36;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
const UTS_FIELD = 65; // __NEW_UTS_LEN + 1
const RLIM_INFINITY = 0xffffffffffffffffn;
const ENODATA = 61;
const ERANGE = 34;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const F_DUPFD_CLOEXEC = 1030;
// sys/file.h
const LOCK_EX = 2;
const LOCK_NB = 4;
// sys/mount.h
const MS_BIND = 4096;
const MNT_DETACH = 2;
const EWOULDBLOCK = 11; // EAGAIN
// spawn.h (glibc): flags of posix_spawnattr_setflags.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// Opaque glibc types, sized generously: posix_spawn_file_actions_t is 80 bytes on x86_64,
// posix_spawnattr_t 336, sigset_t 128.
const SPAWN_ACTIONS_SIZE = 256;
const SPAWN_ATTR_SIZE = 512;
const SIGSET_SIZE = 128;

/** glibc's makedev: 12+20 bit major, 8+24 bit minor, interleaved into a 64-bit dev_t. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

// Structs are passed as plain Buffers and decoded at their uapi offsets rather than declared
// with koffi.struct: named koffi types are process-global, and jest loads this module once per
// test file in the same worker, which would re-register them.
const SIGINFO_SIZE = 128; // siginfo_t is always 128 bytes
const SIGINFO_CODE = 8; // si_signo, si_errno, si_code
const SIGINFO_PID = 16; // _sigchld { si_pid, si_uid, si_status }
const SIGINFO_STATUS = 24;
const STATFS_SIZE = 120;
const SYS_OPENAT2 = 437;
const OPEN_HOW_SIZE = 24; // struct statfs on 64-bit; f_type (long) is first

interface LibcFunctions {
  pidfd_open: (pid: number, flags: number) => number;
  pidfd_send_signal: (pidfd: number, sig: number, info: null, flags: number) => number;
  waitid: (idtype: number, id: number, info: Buffer, options: number) => number;
  prctl: (option: number, a2: number, a3: number, a4: number, a5: number) => number;
  getsockopt: (fd: number, level: number, name: number, val: Buffer, len: Buffer) => number;
  statfs: (path: string, buf: Buffer) => number;
  capget: (header: Buffer, data: Buffer) => number;
  getrlimit: (resource: number, rlim: Buffer) => number;
  uname: (buf: Buffer) => number;
  close: (fd: number) => number;
  syscall_openat2: (nr: number, dirfd: number, path: string, how: Buffer, size: number) => number;
  flock: (fd: number, operation: number) => number;
  mount: (source: string, target: string, type: string | null, flags: number, data: null) => number;
  umount2: (target: string, flags: number) => number;
  mknod: (path: string, mode: number, dev: bigint) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  socketpair: (domain: number, type: number, protocol: number, sv: Buffer) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
  waitpid: (pid: number, status: Buffer, options: number) => number;
  posix_spawn: (
    pid: Buffer,
    path: string,
    actions: Buffer,
    attr: Buffer,
    argv: Array<string | null>,
    envp: Array<string | null>,
  ) => number;
  posix_spawn_file_actions_init: (actions: Buffer) => number;
  posix_spawn_file_actions_adddup2: (actions: Buffer, fd: number, newfd: number) => number;
  posix_spawn_file_actions_destroy: (actions: Buffer) => number;
  posix_spawnattr_init: (attr: Buffer) => number;
  posix_spawnattr_setflags: (attr: Buffer, flags: number) => number;
  posix_spawnattr_setsigmask: (attr: Buffer, set: Buffer) => number;
  posix_spawnattr_setsigdefault: (attr: Buffer, set: Buffer) => number;
  posix_spawnattr_destroy: (attr: Buffer) => number;
}

let libc: LibcFunctions | undefined;

// Loaded on first use so that importing the runtime never touches the native library.
function load(): LibcFunctions {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  const f = (name: string, ret: string, args: string[]) =>
    lib.func(name, ret, args) as unknown as (...a: unknown[]) => number;
  libc = {
    pidfd_open: f('pidfd_open', 'int', ['int', 'uint']),
    pidfd_send_signal: f('pidfd_send_signal', 'int', ['int', 'int', 'void *', 'uint']),
    waitid: f('waitid', 'int', ['int', 'uint', 'void *', 'int']),
    // prctl is variadic in C; declaring five unsigned longs is the same call on the
    // x86_64 and arm64 Linux ABIs, which pass integer varargs exactly like fixed ones.
    prctl: f('prctl', 'int', ['int', 'ulong', 'ulong', 'ulong', 'ulong']),
    getsockopt: f('getsockopt', 'int', ['int', 'int', 'int', 'void *', 'void *']),
    statfs: f('statfs', 'int', ['str', 'void *']),
    capget: f('capget', 'int', ['void *', 'void *']),
    getrlimit: f('getrlimit', 'int', ['int', 'void *']),
    uname: f('uname', 'int', ['void *']),
    close: f('close', 'int', ['int']),
    // glibc has no openat2 wrapper; syscall(2) is variadic, and long/pointer arguments pass
    // like fixed ones on the x86_64 and arm64 ABIs (see prctl). 437 on both (asm-generic).
    syscall_openat2: f('syscall', 'long', ['long', 'int', 'str', 'void *', 'size_t']),
    flock: f('flock', 'int', ['int', 'int']),
    mount: f('mount', 'int', ['str', 'str', 'str', 'ulong', 'void *']),
    umount2: f('umount2', 'int', ['str', 'int']),
    // A real symbol since glibc 2.33 (before, only __xmknod was exported).
    mknod: f('mknod', 'int', ['str', 'uint32', 'uint64']),
    lsetxattr: f('lsetxattr', 'int', ['str', 'str', 'void *', 'size_t', 'int']),
    lgetxattr: f('lgetxattr', 'long', ['str', 'str', 'void *', 'size_t']),
    socketpair: f('socketpair', 'int', ['int', 'int', 'int', 'void *']),
    // Variadic in C; an int third argument is passed like a fixed one on both ABIs (see prctl).
    fcntl: f('fcntl', 'int', ['int', 'int', 'int']),
    waitpid: f('waitpid', 'int', ['int', 'void *', 'int']),
    posix_spawn: f('posix_spawn', 'int', [
      'void *',
      'str',
      'void *',
      'void *',
      'const char **',
      'const char **',
    ]),
    posix_spawn_file_actions_init: f('posix_spawn_file_actions_init', 'int', ['void *']),
    posix_spawn_file_actions_adddup2: f('posix_spawn_file_actions_adddup2', 'int', ['void *', 'int', 'int']),
    posix_spawn_file_actions_destroy: f('posix_spawn_file_actions_destroy', 'int', ['void *']),
    posix_spawnattr_init: f('posix_spawnattr_init', 'int', ['void *']),
    posix_spawnattr_setflags: f('posix_spawnattr_setflags', 'int', ['void *', 'short']),
    posix_spawnattr_setsigmask: f('posix_spawnattr_setsigmask', 'int', ['void *', 'void *']),
    posix_spawnattr_setsigdefault: f('posix_spawnattr_setsigdefault', 'int', ['void *', 'void *']),
    posix_spawnattr_destroy: f('posix_spawnattr_destroy', 'int', ['void *']),
  };
  return libc;
}

/** Throws `name: ERRNO (n)` when a libc call returned -1; errno is read before any other call. */
function check(name: string, result: number, detail?: string): number {
  if (result === -1) throw new SyscallError(name, koffi.errno(), detail);
  return result;
}

const i32 = (buf: Buffer, offset: number): number => koffi.decode(buf, offset, 'int32') as number;
const u32 = (buf: Buffer, offset: number): number => koffi.decode(buf, offset, 'uint32') as number;
// koffi returns a number when the value fits in 2^53 and a bigint otherwise (RLIM_INFINITY).
const u64 = (buf: Buffer, offset: number): bigint =>
  BigInt(koffi.decode(buf, offset, 'uint64') as number | bigint);

function cString(buf: Buffer, offset: number, max: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end === -1 || end > offset + max ? offset + max : end);
}

function rlimitValue(v: bigint): RlimitValue {
  return v === RLIM_INFINITY ? 'unlimited' : v;
}

export function createLibcSyscalls(): Syscalls {
  return {
    pidfdOpen(pid) {
      return check('pidfd_open', load().pidfd_open(pid, 0), `pid ${pid}`);
    },

    pidfdSendSignal(pidfd, signal) {
      check('pidfd_send_signal', load().pidfd_send_signal(pidfd, signalNumber(signal), null, 0));
    },

    waitPidfd(pidfd): WaitResult | null {
      // Zeroed so that "no child ready" (WNOHANG, returns 0) reads back as si_pid 0.
      const info = Buffer.alloc(SIGINFO_SIZE);
      check('waitid', load().waitid(P_PIDFD, pidfd, info, WEXITED | WNOHANG));
      const pid = i32(info, SIGINFO_PID);
      if (pid === 0) return null;
      const code = CLD_CODES[i32(info, SIGINFO_CODE)];
      if (!code) throw new Error(`waitid: unexpected si_code ${i32(info, SIGINFO_CODE)}`);
      return { pid, code, status: i32(info, SIGINFO_STATUS) };
    },

    setChildSubreaper(enabled = true) {
      check('prctl(PR_SET_CHILD_SUBREAPER)', load().prctl(PR_SET_CHILD_SUBREAPER, enabled ? 1 : 0, 0, 0, 0));
    },

    peerCredentials(fd): PeerCredentials {
      const cred = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
      const len = Buffer.alloc(4);
      len.writeUInt32LE(cred.length); // both supported ABIs are little-endian
      check('getsockopt(SO_PEERCRED)', load().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len));
      return { pid: i32(cred, 0), uid: u32(cred, 4), gid: u32(cred, 8) };
    },

    statfsType(path) {
      const buf = Buffer.alloc(STATFS_SIZE + 64); // slack in case a libc grows the struct
      check('statfs', load().statfs(path, buf), path);
      return Number(koffi.decode(buf, 0, 'long') as number | bigint);
    },

    capabilities(): CapabilitySets {
      const c = load();
      const header = Buffer.alloc(8); // { u32 version; int pid } — pid 0 means this thread
      header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
      const data = Buffer.alloc(24); // two { effective, permitted, inheritable } u32 triples
      check('capget', c.capget(header, data));
      const set = (offset: number) => BigInt(u32(data, offset)) | (BigInt(u32(data, offset + 12)) << 32n);
      // The bounding set is not in capget; PR_CAPBSET_READ answers EINVAL past the kernel's
      // last capability, which is how we find its end without reading /proc.
      let bounding = 0n;
      for (let cap = 0; cap < 64; cap++) {
        const r = c.prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (r === -1) {
          if (koffi.errno() === 22 /* EINVAL */) break;
          check('prctl(PR_CAPBSET_READ)', r, `cap ${cap}`);
        }
        if (r === 1) bounding |= 1n << BigInt(cap);
      }
      return { effective: set(0), permitted: set(4), inheritable: set(8), bounding };
    },

    getrlimit(resource: RlimitResource): Rlimit {
      const buf = Buffer.alloc(16); // struct rlimit { rlim_t cur, max } (u64 each)
      check('getrlimit', load().getrlimit(RLIMIT_RESOURCES[resource], buf), `RLIMIT_${resource}`);
      return { soft: rlimitValue(u64(buf, 0)), hard: rlimitValue(u64(buf, 8)) };
    },

    uname(): Uname {
      const buf = Buffer.alloc(UTS_FIELD * 6); // sysname nodename release version machine domainname
      check('uname', load().uname(buf));
      const field = (i: number) => cString(buf, i * UTS_FIELD, UTS_FIELD);
      return { sysname: field(0), release: field(2), version: field(3), machine: field(4) };
    },

    openat2(dirfd, path, flags, resolve) {
      // struct open_how { u64 flags; u64 mode; u64 resolve; }
      const how = Buffer.alloc(OPEN_HOW_SIZE);
      how.writeBigUInt64LE(BigInt(flags), 0);
      how.writeBigUInt64LE(BigInt(resolve), 16);
      return check('openat2', load().syscall_openat2(SYS_OPENAT2, dirfd, path, how, OPEN_HOW_SIZE), path);
    },

    close(fd) {
      check('close', load().close(fd));
    },

    mknod(path, mode, major, minor) {
      check('mknod', load().mknod(path, mode, makedev(major, minor)), path);
    },

    lsetxattr(path, name, value) {
      check('lsetxattr', load().lsetxattr(path, name, value, value.length, 0), `${path} ${name}`);
    },

    lgetxattr(path, name) {
      const c = load();
      // Ask for the size first; the value can change in between, so retry on ERANGE.
      for (let attempt = 0; attempt < 3; attempt++) {
        const size = c.lgetxattr(path, name, null, 0);
        if (size === -1 && koffi.errno() === ENODATA) return undefined;
        check('lgetxattr', size, `${path} ${name}`);
        const buf = Buffer.alloc(size);
        const got = c.lgetxattr(path, name, buf, size);
        if (got === -1 && koffi.errno() === ERANGE) continue;
        if (got === -1 && koffi.errno() === ENODATA) return undefined;
        check('lgetxattr', got, `${path} ${name}`);
        return buf.subarray(0, got);
      }
      throw new SyscallError('lgetxattr', ERANGE, `${path} ${name}`);
    },

    socketpair(): [number, number] {
      const sv = Buffer.alloc(8);
      check('socketpair', load().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
      return [i32(sv, 0), i32(sv, 4)];
    },

    spawn(path, argv, env, fds, opts = {}) {
      const c = load();
      // dup2 runs in order in the child: a source that is also an earlier target would be
      // overwritten before it is used, so such sources are first copied above the range.
      const temps: number[] = [];
      const sources = fds.map((fd, i) => {
        if (fd >= fds.length || fd === i) return fd;
        const copy = check('fcntl(F_DUPFD_CLOEXEC)', c.fcntl(fd, F_DUPFD_CLOEXEC, fds.length));
        temps.push(copy);
        return copy;
      });
      const actions = Buffer.alloc(SPAWN_ACTIONS_SIZE);
      const attr = Buffer.alloc(SPAWN_ATTR_SIZE);
      const spawnCheck = (name: string, err: number) => {
        // The posix_spawn family returns the error number instead of setting errno.
        if (err !== 0) throw new SyscallError(name, err, path);
      };
      spawnCheck('posix_spawn_file_actions_init', c.posix_spawn_file_actions_init(actions));
      spawnCheck('posix_spawnattr_init', c.posix_spawnattr_init(attr));
      try {
        sources.forEach((fd, i) =>
          spawnCheck('posix_spawn_file_actions_adddup2', c.posix_spawn_file_actions_adddup2(actions, fd, i)),
        );
        // Node ignores SIGPIPE and libuv may block signals on this thread: the child starts clean.
        spawnCheck(
          'posix_spawnattr_setsigmask',
          c.posix_spawnattr_setsigmask(attr, Buffer.alloc(SIGSET_SIZE)),
        );
        spawnCheck(
          'posix_spawnattr_setsigdefault',
          c.posix_spawnattr_setsigdefault(attr, Buffer.alloc(SIGSET_SIZE, 0xff)),
        );
        const flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (opts.setsid ? POSIX_SPAWN_SETSID : 0);
        spawnCheck('posix_spawnattr_setflags', c.posix_spawnattr_setflags(attr, flags));
        const pid = Buffer.alloc(4);
        spawnCheck('posix_spawn', c.posix_spawn(pid, path, actions, attr, [...argv, null], [...env, null]));
        return i32(pid, 0);
      } finally {
        c.posix_spawn_file_actions_destroy(actions);
        c.posix_spawnattr_destroy(attr);
        for (const fd of temps) c.close(fd);
      }
    },

    waitpid(pid): WaitResult | null {
      const status = Buffer.alloc(4);
      const got = check('waitpid', load().waitpid(pid, status, WNOHANG), `pid ${pid}`);
      if (got === 0) return null;
      const st = i32(status, 0);
      // <sys/wait.h>: low 7 bits = terminating signal (0 = exited), bit 7 = core dumped.
      const sig = st & 0x7f;
      if (sig === 0) return { pid: got, code: 'CLD_EXITED', status: (st >> 8) & 0xff };
      return { pid: got, code: st & 0x80 ? 'CLD_DUMPED' : 'CLD_KILLED', status: sig };
    },
  };
}

export function createLibcFileLocks(): FileLocks {
  return {
    tryLockExclusive(fd) {
      const r = load().flock(fd, LOCK_EX | LOCK_NB);
      if (r === -1) {
        const errno = koffi.errno();
        if (errno === EWOULDBLOCK) return false;
        throw new SyscallError('flock', errno, `fd ${fd}`);
      }
      return true;
    },
  };
}

export function createLibcMounts(): Mounts {
  return {
    bind(from, to) {
      check('mount', load().mount(from, to, null, MS_BIND, null), `${from} on ${to}`);
    },
    detach(path) {
      check('umount2', load().umount2(path, MNT_DETACH), path);
    },
  };
}
