import { scopeOf } from '../platform/scope';
import { Inject, Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { WARDEN_CONFIG, type WardenConfig } from '../platform/config';
import { AuditService } from '../audit';
import {
  FsBlobStore,
  ImageRepository,
  ImagesService,
  formatImageReference,
  parseImageReference,
} from '../images';
import { PolicyService } from '../policy';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import type { PullProgress } from './image-pull.service';
import { findPullTarget } from './pull-target';
import { Upstreams } from './upstreams';

export interface PushResult {
  tag: string;
  digest: string;
  size: number;
}

const PROGRESS_EVERY_MS = 200;
const shortId = (digest: string) => digest.slice(7, 19);

/**
 * `docker push` through Warden (issue 17 point 6): a local image, named under a configured
 * upstream's registry, sent to that upstream with Warden's sealed credentials, never the
 * client's. The push-destination rule decides first (recorded; `baseline` admits none);
 * each blob is skipped when the upstream has it (HEAD) or can link it from a repository the
 * image was pulled from (cross-repository mount), else streamed with progress — in one PUT,
 * or for a blob bigger than WARDEN_REGISTRY_PUSH_CHUNK_SIZE in PATCH chunks of that size read
 * from the stored file by range (a proxy or upstream that caps a request's body takes a big
 * layer that way, and a chunk's failure names the bytes); the manifest goes last, and
 * `image.pushed` records its digest.
 */
@Injectable()
export class ImagePushService {
  constructor(
    private readonly upstreams: Upstreams,
    private readonly images: ImagesService,
    private readonly repo: ImageRepository,
    private readonly store: FsBlobStore,
    private readonly policy: PolicyService,
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async push(
    caller: Caller,
    name: string,
    tag: string | undefined,
    emit: (p: PullProgress) => void,
  ): Promise<PushResult> {
    const text = tag ? `${name}:${tag}` : name;
    const parsed = parseImageReference(text);
    if (!parsed.ok) throw new WardenError('IMAGE_REFERENCE_INVALID', parsed.error, { reference: text });
    if (parsed.ref.digest)
      throw new WardenError('IMAGE_REFERENCE_INVALID', `push a tag, not a digest (${text})`, {
        reference: text,
      });
    const ref = { ...parsed.ref, tag: parsed.ref.tag ?? 'latest' };
    const { image } = await this.images.resolve(formatImageReference(ref), scopeOf(caller.principal));
    const t = ref.registry ? findPullTarget(this.upstreams, ref) : undefined;
    if (!t)
      throw new WardenError(
        'REGISTRY_NAME_UNKNOWN',
        `no configured upstream is registry '${ref.registry || 'docker.io'}': tag the image as <upstream registry>/<repository>:<tag> to push it (WARDEN_REGISTRY_UPSTREAMS or /registry/upstreams)`,
        { reference: text },
      );
    const pushed = formatImageReference(ref);
    const upstream = t.target.upstream.alias;
    const decision = await this.policy.decidePush(caller, {
      image: pushed,
      upstream,
      registry: t.registry,
      repository: t.repository,
      teams: caller.principal.teams ?? [],
    });
    if (!decision.allowed)
      throw new WardenError(
        'REGISTRY_DENIED',
        `push of ${pushed} denied by policy '${decision.policy ?? 'none'}': ${decision.reasons.map((r) => r.message).join('; ') || 'no policy admits it'}`,
        { image: pushed, policy: decision.policy, reasons: decision.reasons },
      );
    emit({
      status: `The push refers to repository [${formatImageReference({ registry: ref.registry, repository: ref.repository })}]`,
    });
    const client = t.target.client;
    const mountFrom = (await this.repo.originsOf(image.digest))
      .filter((o) => o.upstream === upstream)
      .map((o) => o.repository);
    const blobs = [
      ...image.layers.map((l) => ({ digest: l.digest, size: l.size })),
      { digest: image.configDigest, size: 0 },
    ];
    let uploaded = 0;
    let chunked = 0;
    let bytes = 0;
    for (const b of blobs) {
      const id = shortId(b.digest);
      const size = b.size || (await this.store.stat(b.digest))?.size || 0;
      emit({ status: 'Preparing', id, progressDetail: {} });
      const how = await client.prepareBlob(t.repository, b.digest, mountFrom);
      if ('present' in how) {
        emit({
          status: how.present === 'exists' ? 'Layer already exists' : `Mounted from ${mountFrom[0]}`,
          id,
          progressDetail: {},
        });
        continue;
      }
      let sent = 0;
      let last = 0;
      const counted = (body: Readable) => {
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            sent += chunk.length;
            const now = Date.now();
            if (now - last >= PROGRESS_EVERY_MS) {
              last = now;
              emit({ status: 'Pushing', id, progressDetail: { current: sent, total: size } });
            }
            cb(null, chunk);
          },
        });
        body.on('error', (err) => counter.destroy(err));
        return body.pipe(counter);
      };
      const chunk = this.config.registry.pushChunkBytes;
      if (size > chunk) {
        let at = how.upload;
        for (let start = 0; start < size; start += chunk) {
          const length = Math.min(chunk, size - start);
          const part = await this.store.open(b.digest, { start, end: start + length - 1 });
          at = await client.uploadChunk(t.repository, at, b.digest, start, length, counted(part));
        }
        await client.finishUpload(t.repository, at, b.digest);
        chunked++;
      } else {
        const source = await this.store.open(b.digest);
        await client.uploadBlob(t.repository, how.upload, b.digest, size, counted(source));
      }
      emit({ status: 'Pushed', id, progressDetail: {} });
      uploaded++;
      bytes += size;
    }
    const manifest = await readFile(this.store.path(image.digest));
    const digest = await client.putManifest(t.repository, ref.tag, image.mediaType, manifest);
    emit({ status: `${ref.tag}: digest: ${digest} size: ${manifest.length}` });
    await this.audit.record({
      type: 'image.pushed',
      principal: caller.principal.id,
      source: caller.source,
      subject: digest,
      policyHash: decision.policyVersion ?? undefined,
      payload: {
        image: pushed,
        upstream,
        repository: t.repository,
        tag: ref.tag,
        digest,
        blobs: blobs.length,
        uploaded,
        chunked,
        skipped: blobs.length - uploaded,
        bytes,
      },
    });
    return { tag: ref.tag, digest, size: manifest.length };
  }
}
