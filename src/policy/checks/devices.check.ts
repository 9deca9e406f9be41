import { Check, CheckResult, describeAllowed, judgeHostPath, violation } from './check-result';

/**
 * Host devices only from an allowlist: a block device such as /dev/sda is the host's disk,
 * which makes every other rule moot. Same path matching as bind mounts.
 */
export const devicesCheck: Check = (spec, rules, ctx) => {
  const allowed = rules.devices?.allowedHostPaths;
  if (!allowed || spec.devices.length === 0) return [];
  const out: CheckResult[] = [];
  for (const device of spec.devices) {
    const v = judgeHostPath(device.hostPath, allowed, ctx);
    if (v.allowed) continue;
    const via = v.resolved !== undefined ? ` (resolves to ${v.resolved})` : '';
    out.push(
      violation(
        ctx,
        'devices.allowedHostPaths',
        v.unresolvable !== undefined
          ? `device ${device.hostPath} could not be resolved (${v.unresolvable})`
          : `device ${device.hostPath}${via} is not allowed (allowed: ${describeAllowed(allowed)})`,
        { hostPath: device.hostPath, resolved: v.resolved ?? null, allowed: [...allowed] },
      ),
    );
  }
  return out;
};
