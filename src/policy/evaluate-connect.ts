import type { CheckContext } from './checks';
import { networkModeCheck } from './checks/network-mode.check';
import { egressCheck } from './checks/egress.check';
import { decisionOf, waiveByExceptions, type ActionInput, type Decision } from './evaluate';
import type { ContainerSpec } from './spec/container-spec';

/**
 * `docker network connect` (issue 16, point 4): one more network for an existing container,
 * judged by the same rule as the network it was created on (`network.allowedNetworks`), and
 * by the egress rules as they read for a container on that network. Pure.
 */
export interface ConnectSpec {
  container: { id: string; name: string; spec: ContainerSpec };
  network: string;
}

export function evaluateConnect(input: ActionInput<ConnectSpec>): Decision {
  const { policy, spec, principal, now } = input;
  const ctx: CheckContext = { policyName: policy.name };
  // The container as it would be judged had it been created on that network alone: the
  // networks it was created on were judged at its create.
  const asIf: ContainerSpec = {
    ...spec.container.spec,
    networkMode: spec.network,
    networks: undefined,
    hostNamespaces: { ...spec.container.spec.hostNamespaces, net: false },
  };
  const found = [networkModeCheck, egressCheck].flatMap((check) => check(asIf, policy.doc.rules, ctx));
  const { reasons, waived } = waiveByExceptions(found, input.exceptions, asIf, principal, now);
  return decisionOf(policy, reasons, waived);
}
