import { Check, violation } from './check-result';

/**
 * Every container runs under Warden's built-in seccomp profile unless the policy lets the
 * request turn it off (`unconfined`: every syscall, including namespace creation, keyctl,
 * bpf and module loading, reaches the kernel) or bring its own profile (which may allow as
 * much; a policy cannot judge an arbitrary filter, so it admits custom profiles or not).
 */
export const seccompCheck: Check = (spec, rules, ctx) => {
  const rule = rules.seccomp;
  if (!spec.seccomp || !rule) return [];
  if (spec.seccomp.mode === 'unconfined' && !rule.allowUnconfined)
    return [
      violation(
        ctx,
        'seccomp.allowUnconfined',
        'seccomp=unconfined is not allowed: containers run under the built-in seccomp profile',
        { seccomp: 'unconfined' },
      ),
    ];
  if (spec.seccomp.mode === 'custom' && !rule.allowCustom)
    return [
      violation(
        ctx,
        'seccomp.allowCustom',
        'a custom seccomp profile is not allowed: containers run under the built-in seccomp profile',
        { seccomp: 'custom', defaultAction: spec.seccomp.profile.defaultAction },
      ),
    ];
  return [];
};
