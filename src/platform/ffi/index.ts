// ffi: what other modules may use.
export { createLibcFileLocks, createLibcMounts, createLibcSyscalls } from './libc';
export {
  CGROUP2_SUPER_MAGIC,
  O_PATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
} from './syscalls';
export { SyscallError } from './syscalls';
export type { PeerCredentials, RlimitResource, RlimitValue, WaitResult } from './syscalls';
export type { FileLocks, Mounts, Syscalls } from './syscalls';
