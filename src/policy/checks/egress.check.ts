import { egressCovers, formatEgress, parseEgressEntry, type EgressRule } from '../spec/egress';
import { Check, CheckResult, describeAllowed, violation } from './check-result';

const RULE = 'network.egress.allowed';

/**
 * Where a container on a bridge network may send (`rules.network.egress.allowed`): every entry
 * of its allowlist inside one the policy lists. An unrestricted container is denied, as is
 * one on the host's network (nothing per container can filter it) and one that could remove
 * its filter (privileged, CAP_NET_ADMIN: the rules sit in its own network namespace).
 * Runs after the policy's `default` was filled in.
 */
export const egressCheck: Check = (spec, rules, ctx) => {
  const allowedText = rules.network?.egress?.allowed;
  if (!allowedText) return [];
  const mode = spec.hostNamespaces.net ? 'host' : spec.networkMode;
  if (mode === 'none' || mode.startsWith('container:')) return [];
  const shown = describeAllowed(allowedText);
  const detail = { allowed: [...allowedText] };
  if (mode === 'host')
    return [
      violation(ctx, RULE, `network host cannot be held to an egress allowlist (allowed: ${shown})`, {
        ...detail,
        network: 'host',
      }),
    ];
  if (!spec.egress)
    return [
      violation(
        ctx,
        RULE,
        `unrestricted egress is not allowed (allowed: ${shown}): ask for an allowlist with egress (the label warden.egress), e.g. ${allowedText[0] ?? '10.0.0.0/8:443/tcp'}`,
        detail,
      ),
    ];
  const allowed = allowedText.map(parseEgressEntry).filter((r): r is EgressRule => typeof r !== 'string');
  const out: CheckResult[] = [];
  for (const asked of spec.egress)
    if (!allowed.some((a) => egressCovers(a, asked)))
      out.push(
        violation(ctx, RULE, `egress to ${formatEgress(asked)} is not allowed (allowed: ${shown})`, {
          ...detail,
          egress: formatEgress(asked),
        }),
      );
  const removable = spec.privileged || spec.capAdd.some((c) => c === 'CAP_NET_ADMIN' || c === 'ALL');
  if (removable)
    out.push(
      violation(
        ctx,
        RULE,
        `a container held to an egress allowlist cannot be privileged or have CAP_NET_ADMIN: it could remove its own filter`,
        { ...detail, privileged: spec.privileged, capAdd: [...spec.capAdd] },
      ),
    );
  return out;
};
