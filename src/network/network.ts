import type { EgressAllow } from './egress';

/** A network as Warden keeps it (the `networks` table). */
export interface NetworkRecord {
  id: string;
  name: string;
  /** Docker's driver names: `bridge`, and the built-in `host` and `null` (network none). */
  driver: 'bridge' | 'host' | 'null';
  /** The bridge's interface on the host (bridge networks only). */
  interface?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** IPv6 (`--ipv6`): its subnet and gateway beside the IPv4 ones; absent on IPv4-only networks. */
  subnet6?: string;
  gateway6?: string;
  internal: boolean;
  /** aardvark-dns answers container names on it (user-defined bridge networks). */
  dnsEnabled: boolean;
  /** bridge, host and none: made by Warden, never removed. */
  builtin: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  createdBy: string;
  /** The team that owns it (null: its creator alone; built-in networks: everyone); see platform/scope. */
  team: string | null;
  createdAt: string;
}

/** A container's place on a network: its address, held until it leaves the network. */
export interface Endpoint {
  networkId: string;
  networkName: string;
  containerId: string;
  /** Dotted quad, no prefix. */
  address: string;
  /** Its IPv6 address (no prefix) on an IPv6 network. */
  address6?: string;
  aliases: string[];
}

/** What a container asks of one network (Docker's EndpointSettings, the parts Warden reads). */
export interface EndpointRequest {
  ipv4Address?: string;
  aliases?: string[];
}

/** One published port, as `docker run -p` means it; hostPort 0 = any free port. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** The container facts networking needs; the runtime's record has them all. */
export interface NetworkedContainer {
  id: string;
  name: string;
  /** Its host name inside, for /etc/hosts. */
  hostname: string;
  /** The network mode as the spec has it: `bridge`, `none`, `host` or a network's name. */
  networkMode: string;
  /** Extra networks and per-network settings (`--ip`, `--network-alias`), by network name. */
  endpoints: Record<string, EndpointRequest>;
  /** Published ports, resolved (no hostPort 0 after the start's allocation). */
  ports: PortBinding[];
  /** Rate caps in bits/s, applied with tc on each of its veths (bandwidth.ts). */
  bandwidth?: { egressBps?: number; ingressBps?: number };
  /** Where it may send (egress.ts); absent = anywhere. */
  egress?: EgressAllow[];
}

/** Names Docker reserves: the built-in networks' modes. */
export const BUILTIN_NETWORKS = ['bridge', 'host', 'none'] as const;
export const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
