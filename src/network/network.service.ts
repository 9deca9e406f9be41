import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AuditService } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { owningTeam, scopeOf, TEAM_LABEL, type Scope } from '../platform/scope';
import { IpamRepository } from './ipam.repository';
import { contains, formatAddress, isHostOf, parseAddress, parseCidr, type Cidr } from '../platform/ipv4';
import { BUILTIN_NETWORKS, NETWORK_NAME_RE, type Endpoint, type NetworkRecord } from './network';
import { NetworkRepository } from './network.repository';
import { contains6, parseAddress6, parseCidr6 } from './ipv6';

/** What `docker network create` and REST's POST /networks ask for. */
export interface NetworkCreateInput {
  name: string;
  driver?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** IPv6 (`--ipv6 --subnet fd00:…/64`): the network's IPv6 subnet, and its gateway (default: its first address). */
  subnet6?: string;
  gateway6?: string;
  /** The owning team (REST `team`; the `warden.team` label on the Docker API). */
  team?: string;
}

/** Bridge names are at most 15 bytes (IFNAMSIZ - 1). */
const DEFAULT_BRIDGE = 'warden0';
const SYSTEM = 'system';

/**
 * Networks: the built-in three (bridge, host, none) made at boot, user-defined bridge
 * networks, and containers' places on them (addresses from IpamRepository). Records only:
 * what exists on the host is the attacher's (network-attacher.ts), made when a container
 * starts and gone when it stops.
 */
@Injectable()
export class NetworkService implements OnApplicationBootstrap {
  constructor(
    private readonly networks: NetworkRepository,
    private readonly ipam: IpamRepository,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Idempotent (ON CONFLICT on the name): every start, every Warden on the database.
    const base = { internal: false, labels: {}, options: {}, builtin: true, createdBy: SYSTEM, team: null };
    await this.networks.insert({
      ...base,
      id: builtinId('bridge'),
      name: 'bridge',
      driver: 'bridge',
      interface: DEFAULT_BRIDGE,
      subnet: this.config.network.bridgeSubnet,
      // As Docker's default bridge: no name resolution between containers.
      dnsEnabled: false,
    });
    await this.networks.insert({
      ...base,
      id: builtinId('host'),
      name: 'host',
      driver: 'host',
      dnsEnabled: false,
    });
    await this.networks.insert({
      ...base,
      id: builtinId('none'),
      name: 'none',
      driver: 'null',
      dnsEnabled: false,
    });
  }

  get enabled(): boolean {
    return this.config.network.mode === 'bridge';
  }

  /** The networks the scope sees (platform/scope): built-in ones and its teams'. */
  list(scope: Scope): Promise<NetworkRecord[]> {
    return this.networks.list(scope);
  }

  /**
   * By id, name or unique id prefix among what the scope sees: 404 when none (another
   * team's is none), 400 when the prefix is ambiguous.
   */
  async get(ref: string, scope: Scope): Promise<NetworkRecord> {
    const found = await this.networks.findByRef(ref, scope);
    const exact = found.find((n) => n.id === ref) ?? found.find((n) => n.name === ref);
    if (exact) return exact;
    if (found.length === 1) return found[0];
    if (found.length > 1)
      throw new WardenError('NETWORK_AMBIGUOUS', `network id prefix '${ref}' matches more than one network`, {
        ref,
      });
    throw new WardenError('NETWORK_NOT_FOUND', `network ${ref} not found`, { ref });
  }

  /**
   * The names the refs (names, ids, id prefixes) stand for, as the scope sees them: a policy
   * names networks, so a create is judged by name as a `network connect` is. Built-in names,
   * `default` and what is not a network name are kept as given (the spec's validation speaks
   * of those); with bridge networking off too (the create is refused for that, by name).
   * 404 for a network the scope does not see.
   */
  async names(refs: string[], scope: Scope): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const ref of new Set(refs)) {
      const keep =
        !this.enabled ||
        ref === 'default' ||
        (BUILTIN_NETWORKS as readonly string[]).includes(ref) ||
        !NETWORK_NAME_RE.test(ref);
      out.set(ref, keep ? ref : (await this.get(ref, scope)).name);
    }
    return out;
  }

  async create(caller: Caller, input: NetworkCreateInput): Promise<NetworkRecord> {
    const checked = checkCreate(input);
    const team = owningTeam(caller.principal, input.team ?? input.labels?.[TEAM_LABEL]);
    if (!this.enabled)
      throw new WardenError(
        'NETWORK_DISABLED',
        'bridge networking is off on this Warden: start it with WARDEN_NETWORKING=bridge',
      );
    const id = randomBytes(32).toString('hex');
    let created: NetworkRecord | undefined;
    try {
      created = await this.networks.insert({
        id,
        name: input.name,
        driver: 'bridge',
        interface: `wbr-${id.slice(0, 11)}`,
        subnet: checked.subnet,
        gateway: checked.gateway,
        ipRange: input.ipRange,
        ...(checked.subnet6 ? { subnet6: checked.subnet6, gateway6: input.gateway6 } : {}),
        internal: !!input.internal,
        dnsEnabled: true,
        builtin: false,
        labels: input.labels ?? {},
        options: input.options ?? {},
        createdBy: caller.principal.id,
        team,
        pool: this.config.network.pool,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '23P01') {
        const v6 = (err as { constraint?: string }).constraint === 'networks_subnet6_overlap';
        const subnet = v6 ? input.subnet6 : input.subnet;
        throw new WardenError(
          'NETWORK_OVERLAP',
          `subnet ${subnet} overlaps the subnet of another network: choose another --subnet`,
          { subnet },
          { cause: err },
        );
      }
      if (code === '23514')
        throw new WardenError(
          'NETWORK_EXHAUSTED',
          `no /24 left in the network pool ${this.config.network.pool}: give --subnet, or remove unused networks`,
          {},
          { cause: err },
        );
      throw err;
    }
    if (!created)
      throw new WardenError('NETWORK_EXISTS', `network with name ${input.name} already exists`, {
        name: input.name,
      });
    await this.audit.record({
      type: 'network.created',
      principal: caller.principal.id,
      source: caller.source,
      subject: created.id,
      payload: auditNetwork(created),
    });
    return created;
  }

  async remove(caller: Caller, ref: string): Promise<void> {
    const n = await this.get(ref, scopeOf(caller.principal));
    if (n.builtin)
      throw new WardenError('NETWORK_BUILTIN', `${n.name} is a pre-defined network and cannot be removed`, {
        name: n.name,
      });
    if (!(await this.networks.deleteUnused(n.id))) {
      const users = await this.ipam.ofNetwork(n.id, scopeOf(caller.principal));
      if (users.length)
        throw new WardenError(
          'NETWORK_IN_USE',
          `network ${n.name} has containers on it (${users.map((u) => u.containerName).join(', ')}): disconnect or remove them first`,
          { name: n.name, containers: users.map((u) => u.containerId) },
        );
      throw new WardenError('NETWORK_NOT_FOUND', `network ${ref} not found`, { ref });
    }
    await this.audit.record({
      type: 'network.removed',
      principal: caller.principal.id,
      source: caller.source,
      subject: n.id,
      payload: auditNetwork(n),
    });
  }

  /** Removes every user-defined network without containers (matching the labels); their names. */
  async prune(caller: Caller, labels: Array<[string, string | undefined]> = []): Promise<string[]> {
    const gone = await this.networks.pruneUnused(labels, scopeOf(caller.principal));
    for (const n of gone)
      await this.audit.record({
        type: 'network.removed',
        principal: caller.principal.id,
        source: caller.source,
        subject: n.id,
        payload: { ...auditNetwork(n), pruned: true },
      });
    return gone.map((n) => n.name);
  }

  endpointsOf(containerId: string): Promise<Endpoint[]> {
    return this.ipam.ofContainer(containerId);
  }

  endpointsOfMany(containerIds: string[]): Promise<Map<string, Endpoint[]>> {
    return this.ipam.ofContainers(containerIds);
  }

  /** The containers on the network that the scope sees (others on a shared `bridge` stay unnamed). */
  containersOn(networkId: string, scope: Scope) {
    return this.ipam.ofNetwork(networkId, scope);
  }

  /**
   * Gives the container an address on the network: the one asked for (`--ip`, inside the
   * subnet, not the gateway, not taken) or the next free one. 409 when taken or none is left.
   */
  async allocate(
    network: NetworkRecord,
    containerId: string,
    req: { ipv4Address?: string; aliases?: string[] },
  ): Promise<Endpoint> {
    const aliases = [...new Set(req.aliases ?? [])];
    if (req.ipv4Address !== undefined) {
      const subnet = parseCidr(network.subnet ?? '') as Cidr;
      const address = parseAddress(req.ipv4Address);
      if (address === undefined || !isHostOf(subnet, address))
        throw new WardenError(
          'VALIDATION_FAILED',
          `--ip ${req.ipv4Address} is not an address of network ${network.name} (${network.subnet})`,
        );
      if (req.ipv4Address === network.gateway)
        throw new WardenError(
          'NETWORK_ADDRESS_IN_USE',
          `--ip ${req.ipv4Address} is the gateway of network ${network.name}`,
        );
      const e = await this.ipam.allocateStatic(network.id, containerId, req.ipv4Address, aliases);
      if (!e)
        throw new WardenError(
          'NETWORK_ADDRESS_IN_USE',
          `address ${req.ipv4Address} is already in use on network ${network.name}`,
          { network: network.name, address: req.ipv4Address },
        );
      return this.withAddress6(network, e);
    }
    // A racing allocation that took the same address makes ours insert nothing: ask again.
    for (let attempt = 0; attempt < 8; attempt++) {
      const e = await this.ipam.allocateNext(network.id, containerId, aliases);
      if (e) return this.withAddress6(network, e);
      if (await this.ipam.isFull(network.id)) break;
    }
    throw new WardenError('NETWORK_EXHAUSTED', `no address left on network ${network.name}`, {
      network: network.name,
    });
  }

  /** On an IPv6 network an endpoint has both addresses: one without an IPv6 one is given back. */
  private async withAddress6(network: NetworkRecord, e: Endpoint): Promise<Endpoint> {
    if (!network.subnet6 || e.address6) return e;
    await this.ipam.release(network.id, e.containerId);
    throw new WardenError('NETWORK_EXHAUSTED', `no IPv6 address left on network ${network.name}`, {
      network: network.name,
    });
  }

  release(networkId: string, containerId: string): Promise<boolean> {
    return this.ipam.release(networkId, containerId);
  }
}

/** Docker's ids for its built-in networks are random; Warden's are stable across databases. */
function builtinId(name: string): string {
  return Buffer.from(`warden-builtin-network-${name}`).toString('hex').padEnd(64, '0').slice(0, 64);
}

export const auditNetwork = (n: NetworkRecord) => ({
  name: n.name,
  driver: n.driver,
  subnet: n.subnet ?? null,
  gateway: n.gateway ?? null,
  ipRange: n.ipRange ?? null,
  ...(n.subnet6 ? { subnet6: n.subnet6, gateway6: n.gateway6 ?? null } : {}),
  internal: n.internal,
  labels: n.labels,
  team: n.team,
});

/** The request's own consistency, as Docker checks it (libnetwork ipam): 400 with the reason. */
export function checkCreate(input: NetworkCreateInput): {
  subnet?: string;
  gateway?: string;
  subnet6?: string;
} {
  const checked = checkSubnet4(input);
  const subnet6 = checkSubnet6(input);
  return { ...checked, ...(subnet6 ? { subnet6 } : {}) };
}

/** The IPv6 subnet (its network address, room for a few hosts) and the gateway inside it. */
function checkSubnet6(input: NetworkCreateInput): string | undefined {
  const bad = (m: string) => new WardenError('VALIDATION_FAILED', m);
  if (!input.subnet6) {
    if (input.gateway6) throw bad('an IPv6 --gateway needs an IPv6 --subnet');
    return undefined;
  }
  const subnet = parseCidr6(input.subnet6);
  if ('problem' in subnet) throw bad(`invalid IPv6 --subnet: ${subnet.problem}`);
  if (subnet.prefix > 124) throw bad(`IPv6 --subnet ${input.subnet6} is too small: use a /124 or larger`);
  if (input.gateway6) {
    const g = parseAddress6(input.gateway6);
    if (g === undefined || !contains6(subnet, g) || g === subnet.base)
      throw bad(`--gateway ${input.gateway6} is not a host address of --subnet ${input.subnet6}`);
  }
  return input.subnet6;
}

function checkSubnet4(input: NetworkCreateInput): { subnet?: string; gateway?: string } {
  const bad = (m: string) => new WardenError('VALIDATION_FAILED', m);
  if (!NETWORK_NAME_RE.test(input.name))
    throw bad(`invalid network name '${input.name}': use [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  if ((BUILTIN_NETWORKS as readonly string[]).includes(input.name))
    throw new WardenError('NETWORK_BUILTIN', `${input.name} is a pre-defined network and cannot be created`);
  if (input.driver !== undefined && input.driver !== '' && input.driver !== 'bridge')
    throw bad(`network driver '${input.driver}' is not supported by Warden: use bridge`);
  if (!input.subnet) {
    if (input.gateway || input.ipRange) throw bad('--gateway and --ip-range need --subnet');
    return {};
  }
  const subnet = parseCidr(input.subnet);
  if ('problem' in subnet) throw bad(`invalid --subnet: ${subnet.problem}`);
  if (subnet.prefix > 30) throw bad(`--subnet ${input.subnet} is too small: use a /30 or larger`);
  let gateway = formatAddress(subnet.base + 1);
  if (input.gateway) {
    const g = parseAddress(input.gateway);
    if (g === undefined || !isHostOf(subnet, g))
      throw bad(`--gateway ${input.gateway} is not a host address of --subnet ${input.subnet}`);
    gateway = input.gateway;
  }
  if (input.ipRange) {
    const r = parseCidr(input.ipRange);
    if ('problem' in r) throw bad(`invalid --ip-range: ${r.problem}`);
    if (!contains(subnet, r.base) || r.prefix < subnet.prefix)
      throw bad(`--ip-range ${input.ipRange} is not inside --subnet ${input.subnet}`);
  }
  return { subnet: input.subnet, gateway };
}
