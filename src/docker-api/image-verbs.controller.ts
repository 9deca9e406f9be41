import { Injectable } from '@nestjs/common';
import { ImageBuildService, ImageVerbsService } from '../images';
import { ImagePullService, ImagePushService } from '../registry-proxy';
import { ContainerService } from '../runtime';
import { flag } from './query';
import { WardenError } from '../platform/errors';
import { DockerReply, DockerRequest, DockerRouter, WRITERS } from './docker-http';
import { labelMatches, parseFilters, untilDate } from './filters';

/**
 * Image verbs beyond pull, load, inspect and remove (issue 17 point 5): tag, history, save,
 * import from a root filesystem, prune, and the registry lookup `docker` uses before a pull
 * or a push (`/distribution/{name}/json`). Shapes from moby's api/swagger.yaml.
 */
@Injectable()
export class DockerImageVerbsController {
  constructor(
    private readonly verbs: ImageVerbsService,
    private readonly build: ImageBuildService,
    private readonly pulls: ImagePullService,
    private readonly containers: ContainerService,
    private readonly pushes: ImagePushService,
  ) {}

  register(r: DockerRouter): void {
    r.add('GET', '/images/get', (q, s) => this.save(q.query.getAll('names'), q, s))
      .add('POST', '/images/prune', (q, s) => this.prune(q, s), WRITERS)
      .add('GET', '/images/:name*/get', (q, s) => this.save([q.params.name], q, s))
      .add('GET', '/images/:name*/history', (q, s) => this.history(q, s))
      .add('POST', '/images/:name*/tag', (q, s) => this.tag(q, s), WRITERS)
      .add('GET', '/distribution/:name*/json', (q, s) => this.distribution(q, s))
      .add('POST', '/commit', (q, s) => this.commit(q, s), WRITERS)
      .add('POST', '/images/:name*/push', (q, s) => this.push(q, s), WRITERS);
  }

  /**
   * `docker push`: progress lines as the push goes (the CLI renders them per layer). The
   * client's X-Registry-Auth is not used: Warden pushes with the upstream's sealed
   * credentials, after the push-destination rule admitted it. A refusal before the first
   * line is a plain error status; later, an error line.
   */
  private async push(req: DockerRequest, reply: DockerReply): Promise<void> {
    const caller = await req.caller();
    let out: NodeJS.WritableStream | undefined;
    const line = (o: unknown) => {
      if (!out) out = reply.stream(200, 'application/json').out;
      out.write(`${JSON.stringify(o)}\n`);
    };
    const name = familiarName(req.params.name);
    const tag = req.query.get('tag') || undefined;
    try {
      const r = await this.pushes.push(caller, name, tag, line);
      line({ progressDetail: {}, aux: { Tag: r.tag, Digest: r.digest, Size: r.size } });
    } catch (err) {
      if (!out) throw err;
      const message = (err as Error).message;
      line({ errorDetail: { message }, error: message });
    }
    out?.end();
  }

  /**
   * `docker commit`: moby swagger ImageCommit. The body (a container config to merge) is
   * what the CLI sends as null; `--change` arrives as `changes` and is what is applied.
   */
  private async commit(req: DockerRequest, reply: DockerReply): Promise<void> {
    const container = req.query.get('container');
    if (!container)
      throw new WardenError('VALIDATION_FAILED', 'container is required: the container to commit');
    const repo = req.query.get('repo');
    const tag = req.query.get('tag');
    const name = repo ? familiarName(repo) : undefined;
    const image = await this.containers.commit(await req.caller(), container, {
      tag: name ? (tag ? `${name}:${tag}` : name) : undefined,
      changes: req.query.getAll('changes'),
      comment: req.query.get('comment') ?? undefined,
      author: req.query.get('author') ?? undefined,
      pause: req.query.has('pause') ? flag(req.query.get('pause')) : true,
    });
    reply.json(201, { Id: image.digest });
  }

  private async tag(req: DockerRequest, reply: DockerReply): Promise<void> {
    const repo = req.query.get('repo');
    if (!repo) throw new WardenError('VALIDATION_FAILED', 'repo is required: the name to tag the image as');
    const tag = req.query.get('tag');
    const name = familiarName(repo);
    await this.verbs.tag(req.params.name, tag ? `${name}:${tag}` : name, await req.caller());
    reply.empty(201);
  }

  private async history(req: DockerRequest, reply: DockerReply): Promise<void> {
    reply.json(200, await this.verbs.history(req.params.name, await req.caller()));
  }

  private async save(names: string[], req: DockerRequest, reply: DockerReply): Promise<void> {
    if (names.length === 0)
      throw new WardenError('VALIDATION_FAILED', 'names is required: the images to save');
    await this.verbs.save(names, () => reply.stream(200, 'application/x-tar').out, await req.caller());
  }

  /**
   * `docker image prune`: `dangling=true` (the CLI's default) takes untagged images,
   * `dangling=false` (`-a`) every unused one; `until` and `label` / `label!` narrow it.
   */
  private async prune(req: DockerRequest, reply: DockerReply): Promise<void> {
    const f = parseFilters(req.query.get('filters'), ['dangling', 'until', 'label', 'label!']);
    const dangling = f.get('dangling') ?? ['true'];
    if (dangling.some((d) => !/^(true|false|1|0)$/i.test(d)))
      throw new WardenError(
        'VALIDATION_FAILED',
        `invalid filter 'dangling=${dangling.join(',')}': use true or false`,
      );
    const until = f.get('until')?.map(untilDate);
    const want = f.get('label') ?? [];
    const notWant = f.get('label!') ?? [];
    const r = await this.verbs.prune(await req.caller(), {
      all: dangling.every((d) => /^(false|0)$/i.test(d)),
      until: until?.length ? new Date(Math.min(...until.map((d) => d.getTime()))) : undefined,
      labels: (labels) =>
        want.every((l) => labelMatches(labels, l)) && !notWant.some((l) => labelMatches(labels, l)),
    });
    reply.json(200, { ImagesDeleted: r.deleted, SpaceReclaimed: r.spaceReclaimed });
  }

  /** `POST /images/create?fromSrc=-`: `docker import`, the body a root filesystem tar. */
  async importFrom(req: DockerRequest, reply: DockerReply): Promise<void> {
    const src = req.query.get('fromSrc');
    if (src !== '-')
      throw new WardenError(
        'VALIDATION_FAILED',
        `importing from a URL (${src}) is not supported: Warden fetches nothing on a client's behalf; pass a file or '-' for stdin`,
      );
    const repo = req.query.get('repo');
    const tag = req.query.get('tag');
    const image = await this.build.importRootfs(req.stream(), await req.caller(), {
      tag: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
      changes: req.query.getAll('changes'),
      message: req.query.get('message') ?? undefined,
    });
    const { out } = reply.stream(200, 'application/json');
    out.end(`${JSON.stringify({ status: image.digest })}\n`);
  }

  /** moby swagger DistributionInspect: the upstream's descriptor and platforms. */
  private async distribution(req: DockerRequest, reply: DockerReply): Promise<void> {
    const d = await this.pulls.distribution(await req.caller(), req.params.name);
    reply.json(200, {
      Descriptor: d.descriptor,
      Platforms: d.platforms.map((p) => ({
        architecture: p.architecture,
        os: p.os,
        ...(p.variant ? { variant: p.variant } : {}),
      })),
    });
  }
}

/**
 * The CLI sends a tag's repository normalized (`mybox` → `docker.io/library/mybox`); the
 * name a user typed without a registry is a local one here (registry ''), as `docker load`
 * and `docker run mybox` name it, so the Docker Hub prefix is taken off again.
 */
function familiarName(repo: string): string {
  const m = /^docker\.io\/(.+)$/.exec(repo);
  if (!m) return repo;
  return m[1].startsWith('library/') && !m[1].slice('library/'.length).includes('/')
    ? m[1].slice('library/'.length)
    : m[1];
}
