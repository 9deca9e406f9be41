import { minimalSpec } from '../testing/fixtures';
import { restartPolicyCheck } from './restart-policy.check';

const ctx = { policyName: 'prod' };

describe('restartPolicyCheck', () => {
  it('passes without a rule, and a policy the rule allows', () => {
    const spec = { ...minimalSpec(), restartPolicy: { name: 'always' as const, maximumRetryCount: 0 } };
    expect(restartPolicyCheck(spec, {}, ctx)).toEqual([]);
    expect(restartPolicyCheck(spec, { restart: { allowedPolicies: ['always', 'no'] } }, ctx)).toEqual([]);
  });

  it('denies a policy not allowed, naming the ones that are', () => {
    const spec = {
      ...minimalSpec(),
      restartPolicy: { name: 'unless-stopped' as const, maximumRetryCount: 0 },
    };
    const [r] = restartPolicyCheck(spec, { restart: { allowedPolicies: ['no', 'on-failure'] } }, ctx);
    expect(r.rule).toBe('restart.allowedPolicies');
    expect(r.message).toBe(
      "restart policy 'unless-stopped' is not allowed; use 'no', 'on-failure' (policy prod, rule restart.allowedPolicies)",
    );
    // No restart policy is `no`: judged as such.
    expect(restartPolicyCheck(minimalSpec(), { restart: { allowedPolicies: ['always'] } }, ctx)).toHaveLength(
      1,
    );
  });

  it('caps on-failure retries; no count at all exceeds any cap', () => {
    const rules = { restart: { maxRetries: { max: 5 } } };
    const onFailure = (n: number) => ({
      ...minimalSpec(),
      restartPolicy: { name: 'on-failure' as const, maximumRetryCount: n },
    });
    expect(restartPolicyCheck(onFailure(5), rules, ctx)).toEqual([]);
    expect(restartPolicyCheck(onFailure(6), rules, ctx)[0].message).toMatch(
      /on-failure:6 retries more than the cap of 5; use on-failure:5 or less/,
    );
    expect(restartPolicyCheck(onFailure(0), rules, ctx)[0].message).toMatch(/without a retry count/);
  });
});
