import { sysctlAllowed } from '../spec/sysctls';
import { Check, CheckResult, violation } from './check-result';

/**
 * Sysctls from the policy's allowlist only (`sysctls.allowed`: exact names or `prefix.*`).
 * Whether a sysctl is namespaced at all is the spec's own rule (spec/sysctls.ts), refused
 * before any policy: a policy cannot admit a sysctl that would change the host's value.
 * No `sysctls` rule: every namespaced one, as Docker admits them.
 */
export const sysctlsCheck: Check = (spec, rules, ctx) => {
  const allowed = rules.sysctls?.allowed;
  if (!allowed || !spec.sysctls) return [];
  const out: CheckResult[] = [];
  for (const name of Object.keys(spec.sysctls).sort()) {
    if (sysctlAllowed(name, allowed)) continue;
    out.push(
      violation(
        ctx,
        'sysctls.allowed',
        `sysctl ${name} is not allowed (allowed: ${allowed.join(', ') || 'none'})`,
        { sysctl: name, allowed: [...allowed] },
      ),
    );
  }
  return out;
};
