import { toContainerSpec } from './container-spec';
import { parseSeccompProfile } from './seccomp-profile';

describe('parseSeccompProfile', () => {
  it('reads Docker-format JSON text, folding the old single `name` into names', () => {
    const r = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', comment: 'io' },
          {
            name: 'personality',
            action: 'SCMP_ACT_ALLOW',
            args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
          },
        ],
      }),
    );
    expect(r).toEqual({
      ok: true,
      profile: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
          {
            names: ['personality'],
            action: 'SCMP_ACT_ALLOW',
            args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }],
          },
        ],
      },
    });
  });

  it.each([
    ['not json', /not JSON/],
    [{ syscalls: [] }, /defaultAction: must be one of/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /defaultAction/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock' }, /listenerPath .* not supported/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'] }, /flags are not applied/],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] },
      /syscalls.0: needs names/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a b'], action: 'SCMP_ACT_ALLOW' }] },
      /syscall name/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      /syscalls.0.args.0.index/,
    ],
    [{ defaultAction: 'SCMP_ACT_ALLOW', bogus: 1 }, /unrecognized key/i],
    ['x'.repeat(300 * 1024), /larger than 256 KiB/],
  ])('refuses %j, naming what is wrong', (input, message) => {
    const r = parseSeccompProfile(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});

describe('launch request seccomp field', () => {
  const launch = (seccomp: unknown) => toContainerSpec({ image: 'corp.io/app:1', seccomp });

  it('maps default to the built-in profile (no field), unconfined and a profile object', () => {
    const d = launch('default');
    expect(d.ok && d.spec.seccomp).toBeUndefined();
    const u = launch('unconfined');
    expect(u.ok && u.spec.seccomp).toEqual({ mode: 'unconfined' });
    const c = launch({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] });
    expect(c.ok && c.spec.seccomp).toEqual({
      mode: 'custom',
      profile: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] },
    });
  });

  it('names the field in a refusal', () => {
    expect(launch('off')).toEqual({
      ok: false,
      errors: ['seccomp: must be "default", "unconfined" or a seccomp profile object in Docker\'s format'],
    });
    expect(launch({ defaultAction: 'nope' })).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^seccomp: defaultAction/)],
    });
  });
});
