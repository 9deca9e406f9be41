import { formatRestartPolicy } from '../spec/restart-policy';
import { Check, CheckResult, violation } from './check-result';

/**
 * The restart policy (issue 15): one the policy allows, and `on-failure` retries no more than
 * its cap (an `on-failure` without a count restarts without end, which exceeds any cap; the
 * policy's default, filled in before the checks run, gives it one).
 */
export const restartPolicyCheck: Check = (spec, rules, ctx) => {
  const rule = rules.restart;
  if (!rule) return [];
  const policy = spec.restartPolicy ?? { name: 'no' as const, maximumRetryCount: 0 };
  const out: CheckResult[] = [];
  if (rule.allowedPolicies && !rule.allowedPolicies.includes(policy.name))
    out.push(
      violation(
        ctx,
        'restart.allowedPolicies',
        `restart policy '${policy.name}' is not allowed; use ${rule.allowedPolicies.map((p) => `'${p}'`).join(', ') || 'none'}`,
        { restartPolicy: policy.name, allowed: rule.allowedPolicies },
      ),
    );
  const max = rule.maxRetries?.max;
  if (
    policy.name === 'on-failure' &&
    max !== undefined &&
    !(policy.maximumRetryCount > 0 && policy.maximumRetryCount <= max)
  )
    out.push(
      violation(
        ctx,
        'restart.maxRetries.max',
        policy.maximumRetryCount
          ? `restart policy ${formatRestartPolicy(policy)} retries more than the cap of ${max}; use on-failure:${max} or less`
          : `restart policy on-failure without a retry count restarts without end, but the cap is ${max}; use on-failure:${max} or less`,
        { restartPolicy: policy.name, maximumRetryCount: policy.maximumRetryCount, max },
      ),
    );
  return out;
};
