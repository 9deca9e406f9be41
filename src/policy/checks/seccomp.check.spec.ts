import { ctx, minimalSpec } from '../testing/fixtures';
import { seccompCheck } from './seccomp.check';

describe('seccompCheck', () => {
  const strict = { seccomp: { allowUnconfined: false, allowCustom: false } };
  const custom = {
    mode: 'custom' as const,
    profile: { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [] },
  };

  it('passes the built-in profile under the strictest rule', () => {
    expect(seccompCheck(minimalSpec(), strict, ctx)).toEqual([]);
  });

  it('refuses unconfined, naming the rule', () => {
    expect(seccompCheck(minimalSpec({ seccomp: { mode: 'unconfined' } }), strict, ctx)).toEqual([
      {
        rule: 'seccomp.allowUnconfined',
        message:
          'seccomp=unconfined is not allowed: containers run under the built-in seccomp profile ' +
          '(policy prod, rule seccomp.allowUnconfined)',
        detail: { seccomp: 'unconfined' },
      },
    ]);
  });

  it('refuses a custom profile unless custom profiles are allowed', () => {
    const [r] = seccompCheck(minimalSpec({ seccomp: custom }), strict, ctx);
    expect(r.rule).toBe('seccomp.allowCustom');
    expect(r.detail).toEqual({ seccomp: 'custom', defaultAction: 'SCMP_ACT_ALLOW' });
    const rules = { seccomp: { allowUnconfined: false, allowCustom: true } };
    expect(seccompCheck(minimalSpec({ seccomp: custom }), rules, ctx)).toEqual([]);
    // allowing custom profiles does not allow unconfined
    expect(seccompCheck(minimalSpec({ seccomp: { mode: 'unconfined' } }), rules, ctx)[0].rule).toBe(
      'seccomp.allowUnconfined',
    );
  });

  it('passes unconfined when the policy allows it or has no seccomp rule', () => {
    const spec = minimalSpec({ seccomp: { mode: 'unconfined' } });
    expect(seccompCheck(spec, { seccomp: { allowUnconfined: true, allowCustom: false } }, ctx)).toEqual([]);
    expect(seccompCheck(spec, {}, ctx)).toEqual([]);
  });
});
