import { EVERYTHING, scopeOf } from '../../platform/scope';
import { Inject, Injectable } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { ImageBuildService, ImageRepository } from '../../images';
import type { ImportedImage } from '../../images';
import { WardenError } from '../../platform/errors';
import type { Syscalls } from '../../platform/ffi';
import type { Caller } from '../../platform/http';
import { ContainerRoots } from '../archive/container-root';
import { upperLayerTar } from '../archive/upper-layer';
import { SYSCALLS } from '../container/runtime.tokens';
import { ContainerRefs } from './container-refs';
import { PauseVerb } from './pause';

export interface CommitRequest {
  /** `repo[:tag]`; untagged without. */
  tag?: string;
  changes?: string[];
  comment?: string;
  author?: string;
  /** Freeze a running container while its layer is read (Docker's default: true). */
  pause?: boolean;
}

/**
 * `docker commit`: a new image from the container's writable layer (the overlay's upper
 * dir, found through the container's own path helpers) on top of the image it runs. A
 * running container is paused while the layer is read, as Docker does by default, so the
 * image is a consistent snapshot; it is thawed again whatever happens. Any state but dead
 * can be committed (Docker commits stopped containers too).
 */
@Injectable()
export class CommitVerb {
  private readonly log = new Logger(CommitVerb.name);

  constructor(
    private readonly refs: ContainerRefs,
    private readonly roots: ContainerRoots,
    private readonly pauser: PauseVerb,
    private readonly images: ImageRepository,
    private readonly build: ImageBuildService,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
  ) {}

  async commit(caller: Caller, ref: string, req: CommitRequest): Promise<ImportedImage> {
    const c = await this.refs.resolve(ref, scopeOf(caller.principal));
    if (c.state === 'dead')
      throw new WardenError(
        'CONTAINER_STATE_CONFLICT',
        `container ${c.name} is dead; it can only be removed`,
        {
          id: c.id,
        },
      );
    const base = c.imageDigest ? await this.images.findByDigest(c.imageDigest, EVERYTHING) : undefined;
    if (!base)
      throw new WardenError(
        'IMAGE_NOT_FOUND',
        `the image container ${c.name} was created from is no longer here`,
        {
          id: c.id,
          image: c.image,
        },
      );
    const pause = (req.pause ?? true) && c.state === 'running';
    if (pause) await this.pauser.pause(caller, c.id);
    try {
      const upper = (await this.roots.mountedFiles(c)).upper;
      return await this.build.commit(upperLayerTar(upper, this.sys), caller, {
        base,
        tag: req.tag,
        changes: req.changes,
        comment: req.comment,
        author: req.author,
        createdBy: [...(c.spec.entrypoint ?? []), ...c.spec.command].join(' '),
        container: { id: c.id, name: c.name },
      });
    } finally {
      if (pause)
        await this.pauser
          .unpause(caller, c.id)
          .catch((err: Error) =>
            this.log.warn(`container ${c.name} could not be unpaused after commit: ${err.message}`),
          );
    }
  }
}
