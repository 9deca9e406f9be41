/** Injection tokens for the runtime's host-facing pieces (tests may substitute them). */
export const CGROUP_DRIVER = Symbol('CGROUP_DRIVER');
export const SYSCALLS = Symbol('SYSCALLS');
/** How container processes are started: the init shim (shim/shim-runner.ts), or a fake in test/fast. */
export const SHIM_RUNNER = Symbol('SHIM_RUNNER');
/** Sized filesystems for writable layers (platform/linux/sized-filesystem.ts), or a fake in test/fast. */
export const SIZED_FILESYSTEMS = Symbol('SIZED_FILESYSTEMS');
