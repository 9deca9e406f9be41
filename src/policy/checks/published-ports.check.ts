import { Check, CheckResult, describeAllowed, violation } from './check-result';

const WILDCARD = '0.0.0.0';

function inRanges(port: number, ranges: string[]): boolean {
  return ranges.some((r) => {
    if (r === '*') return true;
    const [lo, hi = lo] = r.split('-').map(Number);
    return port !== 0 && port >= lo && port <= hi;
  });
}

/**
 * What a container may publish on the host: which host ports (a request for any free port
 * needs `*`), on which host addresses, and whether a port below 1024 may be bound on every
 * address (the baseline says no: such a port is a service for the whole network).
 */
export const publishedPortsCheck: Check = (spec, rules, ctx) => {
  const p = rules.network?.publish;
  const ports = spec.ports ?? [];
  if (!p || ports.length === 0) return [];
  const out: CheckResult[] = [];
  for (const port of ports) {
    const ip = port.hostIp || WILDCARD;
    const shown = `${ip}:${port.hostPort || '(any)'}->${port.containerPort}/${port.protocol}`;
    const detail = {
      hostIp: ip,
      hostPort: port.hostPort,
      containerPort: port.containerPort,
      protocol: port.protocol,
    };
    if (p.allowedHostPorts && !inRanges(port.hostPort, p.allowedHostPorts))
      out.push(
        violation(
          ctx,
          'network.publish.allowedHostPorts',
          `publishing ${shown}: host port ${port.hostPort || '(any free port)'} is not allowed (allowed: ${describeAllowed(p.allowedHostPorts)})`,
          { ...detail, allowed: [...p.allowedHostPorts] },
        ),
      );
    if (p.allowedHostIps && !p.allowedHostIps.includes(ip))
      out.push(
        violation(
          ctx,
          'network.publish.allowedHostIps',
          `publishing ${shown}: host address ${ip} is not allowed (allowed: ${describeAllowed(p.allowedHostIps)})`,
          { ...detail, allowed: [...p.allowedHostIps] },
        ),
      );
    if (p.wildcardBelow1024 === false && ip === WILDCARD && port.hostPort > 0 && port.hostPort < 1024)
      out.push(
        violation(
          ctx,
          'network.publish.wildcardBelow1024',
          `publishing ${shown}: a port below 1024 on every address is not allowed; bind it to one address (-p 127.0.0.1:${port.hostPort}:${port.containerPort})`,
          detail,
        ),
      );
  }
  return out;
};
