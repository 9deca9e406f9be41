import { Check, describeAllowed, violation } from './check-result';

/** Only the networks a policy names: none, host, bridge, a user network's name, or `*`. */
export const networkModeCheck: Check = (spec, rules, ctx) => {
  const allowed = rules.network?.allowedNetworks;
  if (!allowed || allowed.includes('*')) return [];
  const mode = spec.hostNamespaces.net
    ? 'host'
    : spec.networkMode === 'default'
      ? 'bridge'
      : spec.networkMode;
  if (allowed.includes(mode)) return [];
  return [
    violation(
      ctx,
      'network.allowedNetworks',
      `network ${mode} is not allowed (allowed: ${describeAllowed(allowed)})`,
      { network: mode, allowed: [...allowed] },
    ),
  ];
};
