import { Injectable } from '@nestjs/common';
import { formatImageReference } from '../policy';
import { ImagesService } from '../images';
import type { ImageRecord } from '../images';
import { ImagePullService } from '../registry-proxy';
import { WardenError } from '../platform/errors';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { matchesLabels, parseFilters } from './filters';
import { DockerImageVerbsController } from './image-verbs.controller';

const created = (i: ImageRecord) => i.imageCreated ?? i.createdAt;
const tagsOf = (i: ImageRecord) => i.tags.map((t) => formatImageReference(t));
const digestsOf = (i: ImageRecord) => [
  ...new Set(
    i.tags.map(
      (t) => `${formatImageReference({ registry: t.registry, repository: t.repository })}@${i.digest}`,
    ),
  ),
];

/**
 * Images: list, inspect, pull (through the registry proxy), import, load (an archive), remove;
 * the other verbs are DockerImageVerbsController's, registered first (their exact paths,
 * `/images/get` and `/images/prune`, before the `:name*` routes).
 */
@Injectable()
export class DockerImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly pulls: ImagePullService,
    private readonly verbs: DockerImageVerbsController,
  ) {}

  register(r: DockerRouter): void {
    this.verbs.register(r);
    r.add('GET', '/images/json', (q, s) => this.list(q, s))
      .add('POST', '/images/create', (q, s) => this.pull(q, s), WRITERS)
      .add('POST', '/images/load', (q, s) => this.load(q, s), WRITERS)
      .add('GET', '/images/:name*/json', (q, s) => this.inspect(q, s))
      .add('DELETE', '/images/:name*', (q, s) => this.remove(q, s), WRITERS);
  }

  private async list(req: DockerRequest, reply: DockerReply): Promise<void> {
    const filters = parseFilters(req.query.get('filters'), ['label', 'reference', 'dangling']);
    const refs = filters.get('reference');
    const rows = (await this.images.list(await req.caller())).filter(
      (i) =>
        matchesLabels(i.config.Labels ?? {}, filters) &&
        (!refs || tagsOf(i).some((t) => refs.some((r) => t === r || t.startsWith(`${r}:`)))) &&
        (!filters.has('dangling') || (filters.get('dangling')![0] === 'true') === (i.tags.length === 0)),
    );
    reply.json(
      200,
      rows.map((i) => ({
        Id: i.digest,
        ParentId: '',
        RepoTags: tagsOf(i),
        RepoDigests: digestsOf(i),
        Created: Math.floor(Date.parse(created(i)) / 1000),
        Size: i.size,
        SharedSize: -1,
        Labels: i.config.Labels ?? {},
        Containers: -1,
      })),
    );
  }

  private async inspect(req: DockerRequest, reply: DockerReply): Promise<void> {
    const i = await this.images.inspect(req.params.name, await req.caller());
    reply.json(200, {
      Id: i.digest,
      RepoTags: tagsOf(i),
      RepoDigests: digestsOf(i),
      Parent: '',
      Comment: '',
      Created: created(i),
      Config: {
        Env: i.config.Env,
        Cmd: i.config.Cmd,
        Entrypoint: i.config.Entrypoint,
        WorkingDir: i.config.WorkingDir,
        User: i.config.User,
        Labels: i.config.Labels,
        ...(i.config.ExposedPorts
          ? { ExposedPorts: Object.fromEntries(i.config.ExposedPorts.map((p) => [p, {}])) }
          : {}),
      },
      Architecture: i.architecture,
      Variant: i.variant,
      Os: i.os,
      Size: i.size,
      RootFS: { Type: 'layers', Layers: i.layers.map((l) => l.diffId) },
      Metadata: { LastTagTime: i.createdAt },
      // Not Docker's: the manifest's config blob and who brought the image in.
      Warden: { ConfigDigest: i.configDigest, CreatedBy: i.createdBy },
    });
  }

  /**
   * `docker pull`: progress lines as the pull goes. Once the 200 is out, a failure can only be
   * an error line in the stream, which the CLI prints and exits non-zero on.
   */
  private async pull(req: DockerRequest, reply: DockerReply): Promise<void> {
    if (req.query.has('fromSrc')) return this.verbs.importFrom(req, reply);
    const from = req.query.get('fromImage');
    if (!from) throw new WardenError('VALIDATION_FAILED', 'fromImage or fromSrc is required');
    const tag = req.query.get('tag');
    const ref = !tag ? from : tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`;
    const caller = await req.caller();
    const { out } = reply.stream(200, 'application/json');
    const line = (o: unknown) => out.write(`${JSON.stringify(o)}\n`);
    try {
      await this.pulls.pull(caller, ref, (p) => line(p));
    } catch (err) {
      const message = (err as Error).message;
      line({ errorDetail: { message }, error: message });
    }
    out.end();
  }

  /** `docker load`: a docker-save (or OCI layout) archive into the local images. */
  private async load(req: DockerRequest, reply: DockerReply): Promise<void> {
    const result = await this.images.importArchive(req.stream(), await req.caller());
    const { out } = reply.stream(200, 'application/json');
    for (const i of result.images)
      for (const name of i.tags.length ? i.tags : [i.digest])
        out.write(`${JSON.stringify({ stream: `Loaded image${i.tags.length ? '' : ' ID'}: ${name}\n` })}\n`);
    out.end();
  }

  private async remove(req: DockerRequest, reply: DockerReply): Promise<void> {
    const r = await this.images.remove(req.params.name, await req.caller());
    reply.json(200, [...r.untagged.map((u) => ({ Untagged: u })), ...r.deleted.map((d) => ({ Deleted: d }))]);
  }
}
