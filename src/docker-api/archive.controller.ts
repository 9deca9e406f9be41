import { Injectable } from '@nestjs/common';
import { ContainerArchive, pathStatHeader } from '../runtime';
import { WardenError } from '../platform/errors';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { flag } from './query';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** Files in and out: the archive API (`docker cp`), `docker export`, `docker diff`. */
@Injectable()
export class DockerArchiveController {
  constructor(private readonly archive: ContainerArchive) {}

  register(r: DockerRouter): void {
    r.add('GET', '/containers/:id/archive', (q, s) => this.get(q, s))
      .add('PUT', '/containers/:id/archive', (q, s) => this.put(q, s), WRITERS)
      .add('GET', '/containers/:id/export', (q, s) => this.export(q, s))
      .add('GET', '/containers/:id/changes', (q, s) => this.changes(q, s));
  }

  private path(req: DockerRequest): string {
    const p = req.query.get('path');
    if (!p) throw new WardenError('VALIDATION_FAILED', 'path is required: the path inside the container');
    return p;
  }

  /** HEAD answers the stat header alone (the CLI asks before a copy in either direction). */
  private async get(req: DockerRequest, reply: DockerReply): Promise<void> {
    const p = this.path(req);
    if (req.method === 'HEAD') {
      const stat = await this.archive.stat(await req.caller(), req.params.id, p);
      reply.empty(200, { [STAT_HEADER]: pathStatHeader(stat), 'Content-Type': 'application/json' });
      return;
    }
    await this.archive.get(
      await req.caller(),
      req.params.id,
      p,
      (stat) => reply.stream(200, 'application/x-tar', { [STAT_HEADER]: pathStatHeader(stat) }).out,
    );
  }

  private async put(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.archive.put(await req.caller(), req.params.id, this.path(req), req.stream(), {
      copyUidGid: flag(req.query.get('copyUIDGID')),
      noOverwriteDirNonDir: flag(req.query.get('noOverwriteDirNonDir')),
    });
    reply.empty(200);
  }

  private async export(req: DockerRequest, reply: DockerReply): Promise<void> {
    await this.archive.export(
      await req.caller(),
      req.params.id,
      () => reply.stream(200, 'application/x-tar').out,
    );
  }

  private async changes(req: DockerRequest, reply: DockerReply): Promise<void> {
    reply.json(200, await this.archive.changes(await req.caller(), req.params.id));
  }
}
