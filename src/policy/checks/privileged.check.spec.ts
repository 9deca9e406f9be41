import { ctx, minimalSpec } from '../testing/fixtures';
import { privilegedCheck } from './privileged.check';

describe('privilegedCheck', () => {
  it('passes an unprivileged container', () => {
    expect(privilegedCheck(minimalSpec(), { privileged: { allow: false } }, ctx)).toEqual([]);
  });

  it('passes privileged when the policy allows it', () => {
    expect(privilegedCheck(minimalSpec({ privileged: true }), { privileged: { allow: true } }, ctx)).toEqual(
      [],
    );
  });

  it('refuses privileged', () => {
    expect(privilegedCheck(minimalSpec({ privileged: true }), { privileged: { allow: false } }, ctx)).toEqual(
      [
        {
          rule: 'privileged.allow',
          message: 'privileged mode is not allowed (policy prod, rule privileged.allow)',
          detail: { privileged: true },
        },
      ],
    );
  });
});
