import { ExecCheck, violation } from './check-result';

/** `docker exec --privileged`: every capability for the process, whatever the container has. */
export const execPrivilegedCheck: ExecCheck = (spec, rules, ctx) => {
  if (!spec.privileged || rules.exec?.allowPrivileged !== false) return [];
  return [violation(ctx, 'exec.allowPrivileged', 'privileged exec is not allowed', { privileged: true })];
};
