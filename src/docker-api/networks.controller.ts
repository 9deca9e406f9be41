import { Injectable } from '@nestjs/common';
import { NetworkService, type NetworkRecord } from '../network';
import { NetworkConnectVerb } from '../runtime';
import { WardenError } from '../platform/errors';
import { scopeOf } from '../platform/scope';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { labelPair, matchesLabels, parseFilters } from './filters';
import { networkObject } from './network-views';

/** Docker's create body for a network (moby api/swagger.yaml NetworkCreateRequest). */
export interface DockerNetworkCreateBody {
  Name: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }> | null;
  } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** Networks: ls, inspect, create, rm, prune (connect and disconnect: DockerNetworkConnectController). */
@Injectable()
export class DockerNetworksController {
  constructor(
    private readonly networks: NetworkService,
    private readonly connector: NetworkConnectVerb,
  ) {}

  register(r: DockerRouter): void {
    r.add('GET', '/networks', (q, s) => this.list(q, s))
      .add('GET', '/networks/:id', (q, s) => this.inspect(q, s))
      .add('POST', '/networks/create', (q, s) => this.create(q, s), WRITERS)
      .add('POST', '/networks/prune', (q, s) => this.prune(q, s), WRITERS)
      .add('DELETE', '/networks/:id', (q, s) => this.remove(q, s), WRITERS)
      .add('POST', '/networks/:id/connect', (q, s) => this.connect(q, s), WRITERS)
      .add('POST', '/networks/:id/disconnect', (q, s) => this.disconnect(q, s), WRITERS);
  }

  private async list(req: DockerRequest, reply: DockerReply): Promise<void> {
    const filters = parseFilters(req.query.get('filters'), ['name', 'id', 'label', 'driver', 'type']);
    const has = (key: string, test: (v: string) => boolean) =>
      !filters.has(key) || filters.get(key)!.some(test);
    const rows = (await this.networks.list(scopeOf((await req.caller()).principal))).filter(
      (n: NetworkRecord) =>
        has('name', (v) => n.name.includes(v)) &&
        has('id', (v) => n.id.startsWith(v)) &&
        has('driver', (v) => n.driver === v) &&
        has('type', (v) => (v === 'builtin') === n.builtin) &&
        matchesLabels(n.labels, filters),
    );
    reply.json(
      200,
      rows.map((n) => networkObject(n)),
    );
  }

  private async inspect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const scope = scopeOf((await req.caller()).principal);
    const n = await this.networks.get(req.params.id, scope);
    reply.json(200, networkObject(n, await this.networks.containersOn(n.id, scope)));
  }

  private async create(req: DockerRequest, reply: DockerReply): Promise<void> {
    const body = await req.json<DockerNetworkCreateBody>();
    if (body.IPAM?.Driver && body.IPAM.Driver !== 'default')
      throw new WardenError(
        'VALIDATION_FAILED',
        `IPAM driver '${body.IPAM.Driver}' is not supported: use default`,
      );
    // One IPv4 subnet (or one from the pool) and, with --ipv6, one IPv6 subnet.
    const configs = body.IPAM?.Config ?? [];
    const v6 = configs.filter((c) => c.Subnet?.includes(':'));
    const v4 = configs.filter((c) => !c.Subnet?.includes(':'));
    if (v4.length > 1 || v6.length > 1)
      throw new WardenError(
        'VALIDATION_FAILED',
        'Warden networks have one IPv4 and one IPv6 subnet: give --subnet once per family',
      );
    if (v6.length && !body.EnableIPv6)
      throw new WardenError('VALIDATION_FAILED', `IPv6 --subnet ${v6[0].Subnet} needs --ipv6`);
    if (body.EnableIPv6 && !v6.length)
      throw new WardenError(
        'VALIDATION_FAILED',
        'an IPv6 network needs its IPv6 subnet: give --subnet fd00:…/64 (Warden has no IPv6 pool)',
      );
    if (v6[0]?.IPRange)
      throw new WardenError('VALIDATION_FAILED', '--ip-range is supported for the IPv4 subnet only');
    const ipam = v4[0] ?? {};
    const n = await this.networks.create(await req.caller(), {
      name: body.Name,
      driver: body.Driver,
      internal: body.Internal,
      labels: body.Labels ?? undefined,
      options: body.Options ?? undefined,
      subnet: ipam.Subnet || undefined,
      gateway: ipam.Gateway || undefined,
      ipRange: ipam.IPRange || undefined,
      subnet6: v6[0]?.Subnet || undefined,
      gateway6: v6[0]?.Gateway || undefined,
    });
    reply.json(201, { Id: n.id, Warning: '' });
  }

  private async remove(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.networks.remove(await req.caller(), req.params.id);
    reply.empty(204);
  }

  private async connect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const body = await req.json<{
      Container: string;
      EndpointConfig?: { IPAMConfig?: { IPv4Address?: string } | null; Aliases?: string[] | null } | null;
    }>();
    const e = body.EndpointConfig;
    await this.connector.connect(await req.caller(), body.Container, req.params.id, {
      ...(e?.IPAMConfig?.IPv4Address ? { ipv4Address: e.IPAMConfig.IPv4Address } : {}),
      ...(e?.Aliases?.length ? { aliases: e.Aliases } : {}),
    });
    reply.empty(200);
  }

  private async disconnect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const body = await req.json<{ Container: string }>();
    await this.connector.disconnect(await req.caller(), body.Container, req.params.id);
    reply.empty(200);
  }

  private async prune(req: DockerRequest, reply: DockerReply): Promise<void> {
    const filters = parseFilters(req.query.get('filters'), ['label']);
    const removed = await this.networks.prune(
      await req.caller(),
      (filters.get('label') ?? []).map(labelPair),
    );
    reply.json(200, { NetworksDeleted: removed });
  }
}
