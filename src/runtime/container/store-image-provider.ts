import { Injectable } from '@nestjs/common';
import { WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { EVERYTHING, scopeOf, type Scope } from '../../platform/scope';
import { formatImageReference } from '../../policy';
import type { ImageReference } from '../../policy';
import { ImageProvider, PreparedImage } from '../../images';
import { LayerUnpacker, prepareLowerdirs } from '../../images';
import { ImagePullService } from '../../registry-proxy';
import { ImageRecord, ImageRepository } from '../../images';
import { ImagesService } from '../../images';
import { PreparedImageCache } from '../../images';

const isIdLike = (text: string) => /^(?:sha256:)?[a-f0-9]{12,64}$/.test(text);

/**
 * The runtime's view of the local image store: resolve the reference (pulling it first when it
 * is not here and an upstream serves it), unpack each layer once (shared by every image and
 * container that has it), and hand back the overlay lowerdirs with the run defaults from the
 * image config. What a digest unpacked to is kept (PreparedImageCache); the name is resolved
 * every time.
 *
 * A pulled image is found only under the names it was pulled or tagged as. The launch
 * decision judged the reference as written, so `evil.io/x@sha256:<digest of something pulled
 * from corp.io>` must not run the corp.io copy under evil.io's verdict, nor the other way round.
 */
@Injectable()
export class StoreImageProvider extends ImageProvider {
  constructor(
    private readonly images: ImagesService,
    private readonly repo: ImageRepository,
    private readonly pulls: ImagePullService,
    private readonly unpacker: LayerUnpacker,
    private readonly cache: PreparedImageCache,
  ) {
    super();
  }

  async prepare(ref: ImageReference, caller?: Caller): Promise<PreparedImage> {
    // No name, only a digest: a container starting from the image it was created from (a
    // parsed reference always has a repository). Containers keep their image (removal and
    // prune refuse or skip while one exists), so the cached digest needs no lookup.
    if (ref.repository === '' && ref.digest) {
      const hit = this.cache.get(ref.digest);
      if (hit) return { ...hit, reference: ref.digest };
    }
    const generation = this.cache.generation;
    // Only an image the caller may use is found here; another team's is pulled again (the
    // upstream is asked, and the caller's team becomes an owner) or not found.
    const scope = caller ? scopeOf(caller.principal) : EVERYTHING;
    const found = (await this.findLocal(ref, scope)) ?? (await this.pullFor(ref, caller));
    const { image, reference } = found;
    const hit = this.cache.get(image.digest);
    if (hit) return { ...hit, reference };
    const lowerdirs = await prepareLowerdirs(
      this.unpacker,
      image.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, mediaType: l.mediaType })),
    );
    const c = image.config;
    const prepared: PreparedImage = {
      reference,
      digest: image.digest,
      lowerdirs,
      config: {
        env: c.Env ?? [],
        cmd: c.Cmd ?? [],
        entrypoint: c.Entrypoint ?? [],
        workingDir: c.WorkingDir || undefined,
        user: c.User || undefined,
        labels: c.Labels ?? {},
        volumes: c.Volumes ?? [],
      },
    };
    this.cache.set(prepared, generation);
    return prepared;
  }

  /** The image under this name, if it is here by that name; undefined to go and pull it. */
  private async findLocal(
    ref: ImageReference,
    scope: Scope,
  ): Promise<{ image: ImageRecord; reference: string } | undefined> {
    // A pinned digest names the image exactly; otherwise the tag (latest when none) does.
    const text = ref.digest ? ref.digest : formatImageReference(ref);
    let found;
    try {
      found = await this.images.resolve(text, scope);
    } catch (err) {
      if (err instanceof WardenError && err.code === 'IMAGE_NOT_FOUND') return undefined;
      throw err;
    }
    const { image, tag } = found;
    if (tag)
      return {
        image,
        reference: formatImageReference({ registry: tag.registry, repository: tag.repository, tag: tag.tag }),
      };
    // Found by digest or id. With no name at all (a container restarting from its recorded
    // digest) the digest is the whole question; with a name, a pulled image must carry it.
    if (ref.repository === '') return { image, reference: text };
    const origins = await this.repo.originsOf(image.digest);
    if (origins.length === 0) return { image, reference: text };
    const names = [...origins, ...image.tags];
    const idOnly = ref.registry === '' && isIdLike(formatImageReference(ref));
    if (!idOnly)
      return names.some((n) => n.registry === ref.registry && n.repository === ref.repository)
        ? { image, reference: formatImageReference(ref) }
        : undefined;
    const where = names.map((n) => (n.registry ? `${n.registry}/${n.repository}` : n.repository));
    throw new WardenError(
      'IMAGE_NOT_FOUND',
      `image ${text} was pulled from a registry; launch it by a name it was pulled as (${[...new Set(where)].join(', ')}) so policy can check where it came from`,
      { ref: text, names: [...new Set(where)] },
    );
  }

  /** Not here: pull it when a caller is known and a configured upstream serves the name. */
  private async pullFor(
    ref: ImageReference,
    caller?: Caller,
  ): Promise<{ image: ImageRecord; reference: string }> {
    const text = formatImageReference(ref);
    const target = caller && !isIdLike(text) ? this.pulls.targetOf(ref) : undefined;
    if (!caller || !target)
      throw new WardenError(
        'IMAGE_NOT_FOUND',
        `no image '${text}' here and no configured upstream serves it; 'warden image pull' or import it first`,
        { ref: text },
      );
    const pulled = await this.pulls.pullTarget(caller, target);
    return { image: pulled.image, reference: pulled.reference };
  }
}
