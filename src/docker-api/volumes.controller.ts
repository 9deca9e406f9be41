import { Injectable } from '@nestjs/common';
import { WardenError } from '../platform/errors';
import { VolumesService, type VolumeView } from '../volumes';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { labelPair, parseFilters } from './filters';
import { flag } from './query';

export interface DockerVolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** The Engine API's Volume object. */
export function dockerVolume(v: VolumeView, usage?: { size: number; refCount: number }) {
  return {
    CreatedAt: v.createdAt,
    Driver: v.driver,
    Labels: v.labels,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: Object.keys(v.options).length ? v.options : null,
    Scope: 'local',
    ...(usage ? { UsageData: { Size: usage.size, RefCount: usage.refCount } } : {}),
  };
}

const bool = (what: string, values: string[] | undefined): boolean | undefined => {
  if (!values) return undefined;
  const v = values[values.length - 1];
  if (['1', 'true'].includes(v)) return true;
  if (['0', 'false'].includes(v)) return false;
  throw new WardenError('VALIDATION_FAILED', `invalid filter '${what}=${v}': use true or false`);
};

/** `/volumes`: create, ls, inspect, rm, prune (Engine API v1.43 shapes). */
@Injectable()
export class DockerVolumesController {
  constructor(private readonly volumes: VolumesService) {}

  register(r: DockerRouter): void {
    r.add('GET', '/volumes', (q, s) => this.list(q, s))
      .add('POST', '/volumes/create', (q, s) => this.create(q, s), WRITERS)
      .add('POST', '/volumes/prune', (q, s) => this.prune(q, s), WRITERS)
      .add('GET', '/volumes/:name', (q, s) => this.inspect(q, s))
      .add('DELETE', '/volumes/:name', (q, s) => this.remove(q, s), WRITERS);
  }

  private async list(req: DockerRequest, reply: DockerReply): Promise<void> {
    const f = parseFilters(req.query.get('filters'), ['name', 'label', 'dangling', 'driver']);
    const rows = await this.volumes.list(await req.caller(), {
      names: f.get('name'),
      labels: f.get('label')?.map(labelPair),
      drivers: f.get('driver'),
      dangling: bool('dangling', f.get('dangling')),
    });
    reply.json(200, { Volumes: rows.map((v) => dockerVolume(v)), Warnings: [] });
  }

  private async create(req: DockerRequest, reply: DockerReply): Promise<void> {
    const body = await req.json<DockerVolumeCreateBody>();
    const v = await this.volumes.create(await req.caller(), {
      name: body.Name || undefined,
      driver: body.Driver || undefined,
      options: body.DriverOpts ?? undefined,
      labels: body.Labels ?? undefined,
    });
    reply.json(201, dockerVolume(v));
  }

  private async inspect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const v = await this.volumes.get(await req.caller(), req.params.name);
    reply.json(200, dockerVolume(v, await this.volumes.usage(v.name)));
  }

  private async remove(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.volumes.remove(await req.caller(), req.params.name, { force: flag(req.query.get('force')) });
    reply.empty(204);
  }

  private async prune(req: DockerRequest, reply: DockerReply): Promise<void> {
    const f = parseFilters(req.query.get('filters'), ['label', 'label!', 'all']);
    const r = await this.volumes.prune(await req.caller(), {
      all: bool('all', f.get('all')),
      labels: f.get('label')?.map(labelPair),
      notLabels: f.get('label!')?.map(labelPair),
    });
    reply.json(200, { VolumesDeleted: r.deleted, SpaceReclaimed: r.spaceReclaimed });
  }
}
