import { Check, CheckResult, violation } from './check-result';

const NAMESPACES = ['pid', 'ipc', 'net', 'uts'] as const;

/** Sharing a host namespace lets a container see or signal host processes, sockets and IPC. */
export const hostNamespacesCheck: Check = (spec, rules, ctx) => {
  if (rules.hostNamespaces === undefined || rules.hostNamespaces.allow) return [];
  const out: CheckResult[] = [];
  for (const ns of NAMESPACES) {
    // networkMode 'host' is the same thing as the net flag, however the request spelled it.
    const host =
      ns === 'net' ? spec.hostNamespaces.net || spec.networkMode === 'host' : spec.hostNamespaces[ns];
    if (host)
      out.push(
        violation(
          ctx,
          'hostNamespaces.allow',
          ns === 'net' ? 'host network (network host) is not allowed' : `host ${ns} namespace is not allowed`,
          { namespace: ns },
        ),
      );
  }
  return out;
};
