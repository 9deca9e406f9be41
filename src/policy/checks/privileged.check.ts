import { Check, violation } from './check-result';

/** Privileged is every capability, every device and no confinement: root on the host. */
export const privilegedCheck: Check = (spec, rules, ctx) => {
  if (!spec.privileged || rules.privileged === undefined || rules.privileged.allow) return [];
  return [violation(ctx, 'privileged.allow', 'privileged mode is not allowed', { privileged: true })];
};
