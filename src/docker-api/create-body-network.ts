import { WardenError } from '../platform/errors';
import type { DockerCreateBody, DockerHostConfig } from './create-body';

// The create body's networking fields (PortBindings, PublishAllPorts, NetworkingConfig) as
// the launch request's ports and endpoints.

/**
 * `-p` as the CLI sends it (PortBindings, ranges already expanded), and `-P`: every exposed
 * port not bound otherwise, on any free host port.
 */
export function publishedPorts(body: DockerCreateBody, hc: DockerHostConfig): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const bound = new Set<string>();
  for (const [key, bindings] of Object.entries(hc.PortBindings ?? {})) {
    const [port, protocol = 'tcp'] = key.split('/');
    if (protocol === 'sctp')
      throw new WardenError('VALIDATION_FAILED', `publishing ${key}: sctp is not supported`);
    bound.add(`${Number(port)}/${protocol}`);
    for (const b of bindings ?? [{}])
      out.push({
        containerPort: Number(port),
        protocol,
        hostIp: b.HostIp || undefined,
        hostPort: b.HostPort ? portNumber(b.HostPort, key) : undefined,
      });
  }
  if (hc.PublishAllPorts)
    for (const key of Object.keys(body.ExposedPorts ?? {})) {
      const [port, protocol = 'tcp'] = key.split('/');
      if (protocol !== 'sctp' && !bound.has(`${Number(port)}/${protocol}`))
        out.push({ containerPort: Number(port), protocol });
    }
  return out;
}

/** Docker's merge of the image's EXPOSE under the request's ExposedPorts (the request's win). */
export function withImageExposedPorts(body: DockerCreateBody, exposed: string[] | undefined): void {
  if (!exposed?.length) return;
  const merged: Record<string, unknown> = {};
  for (const key of exposed) merged[key.includes('/') ? key : `${key}/tcp`] = {};
  body.ExposedPorts = { ...merged, ...(body.ExposedPorts ?? {}) };
}

function portNumber(text: string, key: string): number {
  // The CLI expands host ranges itself; a range here comes from another client.
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    throw new WardenError('VALIDATION_FAILED', `PortBindings ${key}: host port '${text}' is not 0-65535`);
  return Number(text);
}

/** NetworkingConfig.EndpointsConfig: `--ip`, `--network-alias`, and further `--network`s. */
export function endpointsOf(
  body: DockerCreateBody,
  network: string,
  asked: string | undefined,
): Record<string, { ipv4Address?: string; aliases?: string[] }> | undefined {
  const out: Record<string, { ipv4Address?: string; aliases?: string[] }> = {};
  for (const [rawName, e] of Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {})) {
    // The CLI names the mode's own network as the mode was given (`default` included).
    const name = rawName === 'default' || rawName === asked ? network : rawName;
    if (name === 'none' || name === 'host') continue;
    if (e?.IPAMConfig?.IPv6Address)
      throw new WardenError(
        'VALIDATION_FAILED',
        `--ip6 ${e.IPAMConfig.IPv6Address}: a container's IPv6 address is the next free one of the network's subnet; --ip6 is not supported`,
      );
    out[name] = {
      ...(e?.IPAMConfig?.IPv4Address ? { ipv4Address: e.IPAMConfig.IPv4Address } : {}),
      ...(e?.Aliases?.length ? { aliases: e.Aliases } : {}),
    };
  }
  return Object.keys(out).length ? out : undefined;
}
