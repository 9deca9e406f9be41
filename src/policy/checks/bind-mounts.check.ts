import { Check, CheckResult, describeAllowed, judgeHostPath, violation } from './check-result';

/**
 * Host paths in bind mounts only under an allowed prefix, on segment boundaries. Paths are
 * normalized first so `/data/../etc` is judged as `/etc`; symlinks need the host, so they are
 * followed only through ctx.realpath, which the caller injects.
 */
export const bindMountsCheck: Check = (spec, rules, ctx) => {
  const allowed = rules.binds?.allowedHostPaths;
  if (!allowed || spec.binds.length === 0) return [];
  const out: CheckResult[] = [];
  for (const bind of spec.binds) {
    const v = judgeHostPath(bind.source, allowed, ctx);
    if (v.allowed) continue;
    const where =
      v.unresolvable !== undefined
        ? `could not be resolved (${v.unresolvable})`
        : v.resolved !== undefined
          ? `resolves to ${v.resolved}, outside the allowed host paths (${describeAllowed(allowed)})`
          : `is outside the allowed host paths (${describeAllowed(allowed)})`;
    out.push(
      violation(ctx, 'binds.allowedHostPaths', `bind mount host path ${bind.source} ${where}`, {
        source: bind.source,
        normalized: v.normalized,
        resolved: v.resolved ?? null,
        target: bind.target,
        allowed: [...allowed],
      }),
    );
  }
  return out;
};
