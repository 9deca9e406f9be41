// ffi: what other modules may use.
export { createLibcFileLocks, createLibcSyscalls } from './libc';
export { CGROUP2_SUPER_MAGIC, S_IFBLK, S_IFCHR, S_IFIFO } from './syscalls';
export type { PeerCredentials, RlimitResource, RlimitValue } from './syscalls';
export type { FileLocks, Syscalls } from './syscalls';
