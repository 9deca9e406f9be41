import { capabilityMask } from './shim-protocol';
import { BUILTIN_SECCOMP_PROFILE, CLONE_NAMESPACE_FLAGS } from './seccomp-default';
import { seccompRecords, SeccompTarget } from './seccomp-records';

const target = (over: Partial<SeccompTarget> = {}): SeccompTarget => ({
  caps: capabilityMask(),
  arch: 'x64',
  kernel: '6.1.0-13-amd64',
  ...over,
});
const named = (r: ReturnType<typeof seccompRecords>, name: string) => r.rules.filter(([n]) => n === name);

describe('seccompRecords', () => {
  const builtin = seccompRecords(BUILTIN_SECCOMP_PROFILE, target());

  it('compiles the built-in profile to an EPERM allowlist for the native ABI only', () => {
    expect(builtin.defaultAction).toBe('errno:1');
    expect(builtin.arches).toEqual([]);
    expect(named(builtin, 'read')).toEqual([['read', 'allow', '']]);
    expect(builtin.rules.length).toBeGreaterThan(350);
  });

  it.each([
    'unshare',
    'setns',
    'mount',
    'umount2',
    'keyctl',
    'add_key',
    'request_key',
    'bpf',
    'userfaultfd',
    'perf_event_open',
    'kexec_load',
    'kexec_file_load',
    'init_module',
    'finit_module',
    'delete_module',
    'io_uring_setup',
    'open_by_handle_at',
    'reboot',
    'swapon',
    'acct',
    'kcmp',
    'pidfd_getfd',
  ])(
    // prettier-ignore
    'leaves %s to the default EPERM without the capability that governs it',
    (name) => expect(named(builtin, name)).toEqual([]),
  );

  it('allows clone only without namespace flags, and makes clone3 ENOSYS', () => {
    expect(named(builtin, 'clone')).toEqual([['clone', 'allow', `0,me,${CLONE_NAMESPACE_FLAGS},0`]]);
    expect(named(builtin, 'clone3')).toEqual([['clone3', 'errno:38', '']]);
  });

  it('opens the CAP_SYS_ADMIN family when that capability is granted, and only that one', () => {
    const admin = seccompRecords(BUILTIN_SECCOMP_PROFILE, target({ caps: capabilityMask(['SYS_ADMIN']) }));
    expect(named(admin, 'unshare')).toEqual([['unshare', 'allow', '']]);
    expect(named(admin, 'clone')).toEqual([['clone', 'allow', '']]);
    expect(named(admin, 'clone3')).toEqual([['clone3', 'allow', '']]);
    expect(named(admin, 'init_module')).toEqual([]);
    expect(named(admin, 'keyctl')).toEqual([]);
  });

  it('drops capability-gated calls when the capability is dropped (chroot with CAP_SYS_CHROOT)', () => {
    expect(named(builtin, 'chroot')).toHaveLength(1);
    const none = seccompRecords(BUILTIN_SECCOMP_PROFILE, target({ caps: capabilityMask([], ['ALL']) }));
    expect(named(none, 'chroot')).toEqual([]);
  });

  it('honours minKernel and arches', () => {
    expect(named(builtin, 'ptrace')).toEqual([['ptrace', 'allow', '']]);
    const old = seccompRecords(BUILTIN_SECCOMP_PROFILE, target({ kernel: '4.4.0' }));
    expect(named(old, 'ptrace')).toEqual([]);
    expect(named(builtin, 'arch_prctl')).toHaveLength(1);
    const arm = seccompRecords(BUILTIN_SECCOMP_PROFILE, target({ arch: 'arm64' }));
    expect(named(arm, 'arch_prctl')).toEqual([]);
    expect(named(arm, 'set_tls')).toHaveLength(1);
  });

  it('adds the sub-architectures an archMap names for the native one', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO' as const,
      archMap: [
        { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
        { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      ],
      syscalls: [],
    };
    expect(seccompRecords(profile, target()).arches).toEqual(['x86', 'x32']);
    expect(seccompRecords(profile, target({ arch: 'arm64' })).arches).toEqual(['arm']);
  });

  it('ANDs args on distinct indices and splits repeated ones, as Docker does', () => {
    const r = seccompRecords(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        syscalls: [
          {
            names: ['a'],
            action: 'SCMP_ACT_ERRNO',
            args: [
              { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
              { index: 1, value: 2, op: 'SCMP_CMP_GT' },
            ],
          },
          {
            names: ['b'],
            action: 'SCMP_ACT_KILL',
            args: [
              { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
              { index: 0, value: 5, op: 'SCMP_CMP_EQ' },
            ],
          },
          { names: ['c'], action: 'SCMP_ACT_ALLOW' }, // the default action: nothing to add
        ],
      },
      target(),
    );
    expect(r).toEqual({
      defaultAction: 'allow',
      arches: ['x86'],
      rules: [
        ['a', 'errno:1', '0,eq,1,0;1,gt,2,0'],
        ['b', 'kill_thread', '0,eq,1,0'],
        ['b', 'kill_thread', '0,eq,5,0'],
      ],
    });
  });
});
