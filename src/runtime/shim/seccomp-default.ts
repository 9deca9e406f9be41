import type { SeccompProfile, SeccompSyscallRule } from '../../policy';

/**
 * Warden's built-in seccomp profile, in Docker's profile format so custom profiles and this
 * one take the same path to the shim (seccomp-records.ts). It allows what moby's default
 * profile (profiles/seccomp/default.json) allows, on the same conditions, and nothing more:
 * an allowlist with EPERM for everything else. What that leaves out, and why (each family is
 * kernel attack surface or host state a container has no business changing):
 * - namespaces: unshare, setns, clone/clone3 with CLONE_NEW* flags (a user namespace hands
 *   out every capability inside it) — allowed only with CAP_SYS_ADMIN;
 * - mounting: mount, umount2, the new mount API (fsopen, fsmount, move_mount, open_tree, …);
 * - the kernel keyring: keyctl, add_key, request_key (not namespaced);
 * - bpf, perf_event_open, userfaultfd (kernel-exploit primitives), io_uring_* (likewise, and
 *   invisible to seccomp once set up);
 * - kexec_load, kexec_file_load, init_module, finit_module, delete_module, reboot, swapon/off,
 *   acct, quotactl, syslog, settimeofday/clock_settime, iopl/ioperm, vhangup,
 *   lookup_dcookie, open_by_handle_at (the "shocker" escape): each only with the capability
 *   that governs it;
 * - ptrace, process_vm_readv/writev: allowed (kernel ≥ 4.8 closed the seccomp bypass), as
 *   Docker does; kcmp, pidfd_getfd, process_madvise only with CAP_SYS_PTRACE;
 * - socket(AF_ALG) and socket(AF_VSOCK), personality() beyond the harmless domains.
 * Syscalls of other architectures' ABIs are refused outright (the filter kills the caller),
 * including the 32-bit ABIs Docker's profile allows; architecture-specific rules cover
 * x86_64 and aarch64, the two Warden is tested on.
 */

// Unconditionally allowed: ordinary process, file, memory, signal, time and socket calls.
const ALLOWED = `
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
  chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
  clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
  copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
  epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
  exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod
  fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock
  fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate
  ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
  getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32
  getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
  getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
  getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
  getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl
  io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup
  io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
  lchown32 lgetxattr link linkat listen listmount listxattr listxattrat llistxattr _llseek
  lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier memfd_create
  memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect
  mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
  mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock
  munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause
  pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll
  ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64
  pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg
  recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename renameat renameat2
  restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
  rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
  rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
  sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select
  semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg
  sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer
  setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
  setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
  setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
  sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statmount statx
  symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
  timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
  timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
  truncate truncate64 ugetrlimit umask uname unlink unlinkat uretprobe utime utimensat
  utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
`;

const allow = (names: string, extra: Partial<SeccompSyscallRule> = {}): SeccompSyscallRule => ({
  names: names.trim().split(/\s+/),
  action: 'SCMP_ACT_ALLOW',
  ...extra,
});
const withCap = (cap: string, names: string): SeccompSyscallRule =>
  allow(names, { includes: { caps: [cap] } });
const eq0 = (value: number) => [{ index: 0, value, op: 'SCMP_CMP_EQ' as const }];

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (0x7E020000). */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

export const BUILTIN_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1, // EPERM
  // No archMap: only the native ABI. Docker's profile also opens the 32-bit x86 and x32 ABIs
  // (and arm on aarch64), whose compat syscall paths have had their own kernel bugs; Warden's
  // images are native, and filtering one ABI instead of three takes a third of the BPF
  // (measured: 415 vs 1246 instructions, +0.28 vs +0.65 ms of CPU per launch). A custom
  // profile with an archMap opens them for the rare 32-bit program.
  syscalls: [
    allow(ALLOWED),
    allow('process_vm_readv process_vm_writev ptrace', { includes: { minKernel: '4.8' } }),
    // AF_ALG (38) and AF_VSOCK (40) stay closed: crypto and hypervisor sockets.
    allow('socket', { args: [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }] }),
    allow('socket', { args: eq0(39) }),
    allow('socket', { args: [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }] }),
    // personality: PER_LINUX, PER_LINUX32, UNAME26 variants and the query (0xffffffff).
    ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((v) => allow('personality', { args: eq0(v) })),
    allow('arch_prctl', { includes: { arches: ['amd64', 'x32'] } }),
    allow('modify_ldt', { includes: { arches: ['amd64', 'x32', 'x86'] } }),
    allow('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls', {
      includes: { arches: ['arm', 'arm64'] },
    }),
    withCap('CAP_DAC_READ_SEARCH', 'open_by_handle_at'),
    withCap(
      'CAP_SYS_ADMIN',
      `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr
       lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open
       quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare`,
    ),
    // Without CAP_SYS_ADMIN: clone only without namespace flags (arg 0 on x86/arm) …
    allow('clone', {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // … and clone3, whose flags are behind a pointer seccomp cannot read, answers ENOSYS so
    // the C library falls back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    withCap('CAP_SYS_BOOT', 'reboot'),
    withCap('CAP_SYS_CHROOT', 'chroot'),
    withCap('CAP_SYS_MODULE', 'delete_module init_module finit_module'),
    withCap('CAP_SYS_PACCT', 'acct'),
    withCap('CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'),
    withCap('CAP_SYS_RAWIO', 'iopl ioperm'),
    withCap('CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'),
    withCap('CAP_SYS_TTY_CONFIG', 'vhangup'),
    withCap('CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'),
    withCap('CAP_SYSLOG', 'syslog'),
    withCap('CAP_BPF', 'bpf'),
    withCap('CAP_PERFMON', 'perf_event_open'),
  ],
};
