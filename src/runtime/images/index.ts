// Local images, as the rest of Warden sees them.
export { ImagesModule } from './images.module';
export { ImagesService, DEFAULT_IMPORT_MAX_BYTES } from './images.service';
export type { ImportResult, ImportedImage, RemoveResult } from './images.service';
export { ImagePullService } from './image-pull.service';
export type { PullProgress, PullResult } from './image-pull.service';
export { ImagePruneService } from './image-prune.service';
export type { PruneResult } from './image-prune.service';
export { ImageRepository } from './image.repository';
export type { ImageRecord, ImageLayerRecord, ImageOrigin, ImageTag } from './image.repository';
export { IMAGE_USAGE, NO_IMAGE_USAGE } from './image-usage';
export type { ImageUsage } from './image-usage';
export { MEDIA_TYPES } from './image-manifest';
export type { RuntimeConfig } from './image-manifest';
