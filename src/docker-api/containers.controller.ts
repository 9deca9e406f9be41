import { Inject, Injectable } from '@nestjs/common';
import { NetworkAttacher, NetworkService } from '../network';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { ImagesService } from '../images';
import type { ImageRecord } from '../images';
import { ContainerInspector, ContainerService } from '../runtime';
import type { ContainerRecord, ContainerState } from '../runtime';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { EVERYTHING } from '../platform/scope';
import { parseRestartPolicy, type RestartPolicy } from '../policy';
import { inspectContainer, summarizeContainer } from './container-views';
import { mapCreateBody, type DockerCreateBody, type DockerHostConfig } from './create-body';
import { withImageExposedPorts } from './create-body-network';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { networkSettings, portBindings, summaryPorts, type ContainerNetworkView } from './network-views';
import { labelPair, parseFilters, untilDate } from './filters';
import { flag, optionalInt } from './query';

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
/** Docker's `health` filter values; `none` is a container without a health check. */
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'] as const;

/** Container lifecycle and listing: create, ps, inspect, start, stop, kill, restart, rm. */
@Injectable()
export class DockerContainersController {
  constructor(
    private readonly containers: ContainerService,
    private readonly inspector: ContainerInspector,
    private readonly images: ImagesService,
    private readonly networks: NetworkService,
    private readonly attacher: NetworkAttacher,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  register(r: DockerRouter): void {
    r.add('POST', '/containers/create', (q, s) => this.create(q, s), WRITERS)
      .add('GET', '/containers/json', (q, s) => this.list(q, s))
      .add('GET', '/containers/:id/json', (q, s) => this.inspect(q, s))
      .add('POST', '/containers/:id/start', (q, s) => this.start(q, s), WRITERS)
      .add('POST', '/containers/:id/stop', (q, s) => this.stop(q, s), WRITERS)
      .add('POST', '/containers/:id/kill', (q, s) => this.kill(q, s), WRITERS)
      .add('POST', '/containers/:id/restart', (q, s) => this.restart(q, s), WRITERS)
      .add('DELETE', '/containers/:id', (q, s) => this.remove(q, s), WRITERS)
      .add('POST', '/containers/:id/pause', (q, s) => this.pause(q, s), WRITERS)
      .add('POST', '/containers/:id/unpause', (q, s) => this.unpause(q, s), WRITERS)
      .add('POST', '/containers/:id/rename', (q, s) => this.rename(q, s), WRITERS)
      .add('POST', '/containers/prune', (q, s) => this.prune(q, s), WRITERS)
      .add('POST', '/containers/:id/update', (q, s) => this.update(q, s), WRITERS);
  }

  private async create(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const body = await req.json<DockerCreateBody>();
    // `-P` publishes the image's EXPOSE ports too (the CLI sends only its own --expose ones).
    if (body.HostConfig?.PublishAllPorts && typeof body.Image === 'string') {
      const image = await this.images.inspect(body.Image, caller).catch(() => undefined);
      withImageExposedPorts(body, image?.config.ExposedPorts);
    }
    const mapped = mapCreateBody(body, { networking: this.config.network.mode === 'bridge' });
    const c = await this.containers.create(caller, {
      name: req.query.get('name') || undefined,
      ...mapped.options,
      launch: mapped.launch,
    });
    reply.json(201, { Id: c.id, Warnings: mapped.warnings });
  }

  private async list(req: DockerRequest, reply: DockerReply): Promise<void> {
    const filters = parseFilters(req.query.get('filters'), ['label', 'status', 'name', 'id', 'health']);
    for (const [key, allowed] of [
      ['status', STATUSES],
      ['health', HEALTH],
    ] as const)
      for (const s of filters.get(key) ?? [])
        if (!(allowed as readonly string[]).includes(s))
          throw new WardenError(
            'VALIDATION_FAILED',
            `invalid filter '${key}=${s}': use ${allowed.join(', ')}`,
          );
    // As in Docker, a status filter lists stopped containers without --all.
    const all = flag(req.query.get('all')) || filters.has('status');
    const limit = optionalInt(req.query.get('limit'));
    // Every filter runs in SQL, as REST's: `label` all must hold, `name` and `id` any.
    const caller = await req.caller();
    const rows = await this.containers.list(caller, {
      all,
      states: filters.get('status') as ContainerState[] | undefined,
      labelList: (filters.get('label') ?? []).map(labelPair),
      namePatterns: filters.get('name'),
      idPrefixes: filters.get('id'),
      health: filters.get('health') as Array<(typeof HEALTH)[number]> | undefined,
      limit: limit !== undefined && limit > 0 ? limit : undefined,
    });
    const images = new ImageCache(this.images, caller);
    const [endpoints, networks] = await Promise.all([
      this.networks.endpointsOfMany(rows.map((c) => c.id)),
      // Names of the networks these containers (all in scope) are on.
      this.networks.list(EVERYTHING),
    ]);
    reply.json(
      200,
      await Promise.all(
        rows.map(async (c) => {
          const view = this.networkView(c, endpoints.get(c.id) ?? [], networks);
          return {
            ...summarizeContainer(c, await images.of(c)),
            Ports: summaryPorts(view),
            NetworkSettings: { Networks: networkSettings(c, view).Networks },
          };
        }),
      ),
    );
  }

  private async inspect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    const c = await this.containers.resolve(req.params.id, caller);
    const [image, endpoints, networks] = await Promise.all([
      new ImageCache(this.images, caller).of(c),
      this.networks.endpointsOf(c.id),
      this.networks.list(EVERYTHING),
    ]);
    const body = inspectContainer(c, image) as { HostConfig: Record<string, unknown> };
    reply.json(200, {
      ...body,
      HostConfig: { ...body.HostConfig, PortBindings: portBindings(c.spec.ports ?? []) },
      NetworkSettings: networkSettings(c, this.networkView(c, endpoints, networks)),
    });
  }

  private networkView(
    c: ContainerRecord,
    endpoints: ContainerNetworkView['endpoints'],
    networks: ContainerNetworkView['networks'],
  ): ContainerNetworkView {
    return {
      endpoints,
      networks,
      published: c.state === 'running' ? this.attacher.publishedPorts(c.id) : undefined,
    };
  }

  private async start(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.containers.start(await req.caller(), req.params.id);
    reply.empty(204);
  }

  private async stop(req: DockerRequest, reply: DockerReply): Promise<void> {
    const signal = req.query.get('signal');
    await this.containers.stop(
      await req.caller(),
      req.params.id,
      optionalInt(req.query.get('t')),
      signal ? this.inspector.signalName(signal) : undefined,
    );
    reply.empty(204);
  }

  private async kill(req: DockerRequest, reply: DockerReply): Promise<void> {
    const signal = this.inspector.signalName(req.query.get('signal') || undefined);
    await this.containers.kill(await req.caller(), req.params.id, signal);
    reply.empty(204);
  }

  private async restart(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.containers.restart(await req.caller(), req.params.id, optionalInt(req.query.get('t')));
    reply.empty(204);
  }

  /** `docker update`: resources and the restart policy; zero means "unchanged", as in the Engine API. */
  private async update(req: DockerRequest, reply: DockerReply): Promise<void> {
    const b = await req.json<DockerHostConfig>();
    let restartPolicy: RestartPolicy | undefined;
    if (b.RestartPolicy?.Name) {
      const parsed = parseRestartPolicy({
        name: b.RestartPolicy.Name,
        maximumRetryCount: b.RestartPolicy.MaximumRetryCount,
      });
      if (typeof parsed === 'string') throw new WardenError('VALIDATION_FAILED', parsed);
      restartPolicy = parsed;
    }
    const nano =
      b.NanoCpus ||
      (b.CpuQuota && b.CpuQuota > 0 ? Math.round((b.CpuQuota / (b.CpuPeriod || 100_000)) * 1e9) : 0);
    await this.containers.update(await req.caller(), req.params.id, {
      memoryBytes: b.Memory || undefined,
      memorySwapBytes: b.MemorySwap || undefined,
      nanoCpus: nano || undefined,
      cpuShares: b.CpuShares || undefined,
      pidsLimit: b.PidsLimit && b.PidsLimit > 0 ? b.PidsLimit : undefined,
      cpusetCpus: b.CpusetCpus || undefined,
      restartPolicy,
    });
    reply.json(200, { Warnings: [] });
  }

  private async pause(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.containers.pause(await req.caller(), req.params.id);
    reply.empty(204);
  }

  private async unpause(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.containers.unpause(await req.caller(), req.params.id);
    reply.empty(204);
  }

  private async rename(req: DockerRequest, reply: DockerReply): Promise<void> {
    const name = req.query.get('name');
    if (!name) throw new WardenError('VALIDATION_FAILED', 'name is required: the new container name');
    await this.containers.rename(await req.caller(), req.params.id, name);
    reply.empty(204);
  }

  private async prune(req: DockerRequest, reply: DockerReply): Promise<void> {
    const f = parseFilters(req.query.get('filters'), ['until', 'label']);
    const until = f.get('until')?.map(untilDate);
    const r = await this.containers.prune(await req.caller(), {
      until: until?.length ? new Date(Math.min(...until.map((d) => d.getTime()))) : undefined,
      labels: f.get('label')?.map(labelPair),
    });
    reply.json(200, { ContainersDeleted: r.deleted, SpaceReclaimed: r.spaceReclaimed });
  }

  private async remove(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.containers.remove(await req.caller(), req.params.id, {
      force: flag(req.query.get('force')),
      volumes: flag(req.query.get('v')),
    });
    reply.empty(204);
  }
}

/** One image lookup per image per request (ps over many containers of one image). */
export class ImageCache {
  private readonly cache = new Map<string, Promise<ImageRecord | undefined>>();

  constructor(
    private readonly images: ImagesService,
    private readonly caller: Caller,
  ) {}

  of(c: ContainerRecord): Promise<ImageRecord | undefined> {
    const key = c.imageDigest ?? c.image;
    let hit = this.cache.get(key);
    if (!hit) {
      // The image may have been removed since (a container keeps its unpacked layers).
      hit = this.images.inspect(key, this.caller).catch(() => undefined);
      this.cache.set(key, hit);
    }
    return hit;
  }
}
