/** Injection tokens for the runtime's host-facing pieces (tests may substitute them). */
export const CGROUP_DRIVER = Symbol('CGROUP_DRIVER');
export const SYSCALLS = Symbol('SYSCALLS');
