import type { Endpoint, NetworkRecord, PortBinding } from '../network';
import type { ContainerRecord } from '../runtime';

/**
 * Networks in the Engine API's shapes: the Network object (`docker network inspect`), and a
 * container's NetworkSettings / port views (`docker inspect`, `docker port`, `docker ps`).
 * Pure.
 */
export interface ContainerNetworkView {
  endpoints: Endpoint[];
  /** Every network (the endpoints' subnets and gateways come from here). */
  networks: NetworkRecord[];
  /** The ports as published while it runs (host ports resolved); undefined when not running. */
  published?: PortBinding[];
}

const DRIVER_SCOPE = 'local';

export function networkObject(
  n: NetworkRecord,
  containers: Array<Endpoint & { containerName: string }> = [],
): Record<string, unknown> {
  const prefix = n.subnet?.split('/')[1];
  const prefix6 = n.subnet6?.split('/')[1];
  return {
    Name: n.name,
    Id: n.id,
    Created: n.createdAt,
    Scope: DRIVER_SCOPE,
    Driver: n.driver,
    EnableIPv6: !!n.subnet6,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: [
        ...(n.subnet
          ? [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) }]
          : []),
        ...(n.subnet6 ? [{ Subnet: n.subnet6, Gateway: n.gateway6 }] : []),
      ],
    },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      containers.map((e) => [
        e.containerId,
        {
          Name: e.containerName,
          EndpointID: endpointId(e),
          MacAddress: '',
          IPv4Address: `${e.address}/${prefix}`,
          IPv6Address: e.address6 ? `${e.address6}/${prefix6}` : '',
        },
      ]),
    ),
    Options: n.interface ? { 'com.docker.network.bridge.name': n.interface, ...n.options } : n.options,
    Labels: n.labels,
  };
}

/** Stable per (network, container): Docker's are random, but nothing reads more than identity. */
const endpointId = (e: Endpoint) => `${e.networkId.slice(0, 32)}${e.containerId.slice(0, 32)}`;

export function portBindings(
  ports: PortBinding[],
): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports)
    (out[`${p.containerPort}/${p.protocol}`] ??= []).push({
      HostIp: p.hostIp,
      HostPort: p.hostPort ? String(p.hostPort) : '',
    });
  return out;
}

export function networkSettings(c: ContainerRecord, view: ContainerNetworkView): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const e of view.endpoints) {
    const n = view.networks.find((x) => x.id === e.networkId);
    const asked = c.options.endpoints?.[e.networkName]?.ipv4Address;
    networks[e.networkName] = {
      IPAMConfig: asked ? { IPv4Address: asked } : null,
      Links: null,
      Aliases: e.aliases.length ? e.aliases : null,
      MacAddress: '',
      DriverOpts: null,
      NetworkID: e.networkId,
      EndpointID: endpointId(e),
      Gateway: n?.gateway ?? '',
      IPAddress: e.address,
      IPPrefixLen: Number(n?.subnet?.split('/')[1] ?? 0),
      IPv6Gateway: (e.address6 && n?.gateway6) || '',
      GlobalIPv6Address: e.address6 ?? '',
      GlobalIPv6PrefixLen: e.address6 ? Number(n?.subnet6?.split('/')[1] ?? 0) : 0,
      DNSNames: n?.dnsEnabled ? [c.name, c.id.slice(0, 12), ...e.aliases] : null,
    };
  }
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const p of c.spec.ports ?? []) ports[`${p.containerPort}/${p.protocol}`] = null;
  // Docker shows a bound address per family; Warden binds IPv4 only.
  for (const [k, v] of Object.entries(portBindings(view.published ?? [])))
    ports[k] = v.map((b) => ({ HostIp: b.HostIp || '0.0.0.0', HostPort: b.HostPort }));
  // The legacy top-level fields describe the default bridge network, as in Docker.
  const bridge = view.endpoints.find((e) => e.networkName === 'bridge');
  const bridgeNet = bridge && view.networks.find((x) => x.id === bridge.networkId);
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: '',
    HairpinMode: false,
    Ports: ports,
    Gateway: bridgeNet?.gateway ?? '',
    IPAddress: bridge?.address ?? '',
    IPPrefixLen: bridgeNet ? Number(bridgeNet.subnet?.split('/')[1] ?? 0) : 0,
    MacAddress: '',
    Networks: networks,
  };
}

/** `docker ps`'s Ports column. */
export function summaryPorts(view: ContainerNetworkView): Array<Record<string, unknown>> {
  return (view.published ?? []).map((p) => ({
    IP: p.hostIp || '0.0.0.0',
    PrivatePort: p.containerPort,
    PublicPort: p.hostPort,
    Type: p.protocol,
  }));
}
