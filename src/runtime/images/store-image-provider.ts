import { Injectable } from '@nestjs/common';
import { formatImageReference } from '../../policy';
import type { ImageReference } from '../../policy';
import { ImageProvider, PreparedImage } from '../container/image-provider';
import { LayerUnpacker, prepareLowerdirs } from '../rootfs';
import { ImagesService } from './images.service';

/**
 * The runtime's view of the local image store: resolve the reference, unpack each layer once
 * (shared by every image and container that has it), and hand back the overlay lowerdirs
 * with the run defaults from the image config.
 */
@Injectable()
export class StoreImageProvider extends ImageProvider {
  constructor(
    private readonly images: ImagesService,
    private readonly unpacker: LayerUnpacker,
  ) {
    super();
  }

  async prepare(ref: ImageReference): Promise<PreparedImage> {
    // A pinned digest names the image exactly; otherwise the tag (latest when none) does.
    const text = ref.digest ? ref.digest : formatImageReference(ref);
    const { image, tag } = await this.images.resolve(text);
    const lowerdirs = await prepareLowerdirs(
      this.unpacker,
      image.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, mediaType: l.mediaType })),
    );
    const c = image.config;
    return {
      reference: tag
        ? formatImageReference({ registry: tag.registry, repository: tag.repository, tag: tag.tag })
        : text,
      digest: image.digest,
      lowerdirs,
      config: {
        env: c.Env ?? [],
        cmd: c.Cmd ?? [],
        entrypoint: c.Entrypoint ?? [],
        workingDir: c.WorkingDir || undefined,
        user: c.User || undefined,
        labels: c.Labels ?? {},
      },
    };
  }
}
