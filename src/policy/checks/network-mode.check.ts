import { Check, describeAllowed, violation } from './check-result';

/**
 * Only the networks a policy names: none, host, bridge, a user network's name, or `*`. Every
 * network the container joins at create is judged: its mode and the further networks of its
 * create (Docker's EndpointsConfig), one reason per network refused.
 */
export const networkModeCheck: Check = (spec, rules, ctx) => {
  const allowed = rules.network?.allowedNetworks;
  if (!allowed || allowed.includes('*')) return [];
  const mode = spec.hostNamespaces.net
    ? 'host'
    : spec.networkMode === 'default'
      ? 'bridge'
      : spec.networkMode;
  return [...new Set([mode, ...(spec.networks ?? [])])]
    .filter((network) => !allowed.includes(network))
    .map((network) =>
      violation(
        ctx,
        'network.allowedNetworks',
        `network ${network} is not allowed (allowed: ${describeAllowed(allowed)})`,
        { network, allowed: [...allowed] },
      ),
    );
};
