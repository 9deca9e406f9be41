// Local images, as the rest of Warden sees them: the content store, image references, records,
// archives, layer unpacking.
export { ImagesModule } from './images.module';
export { ImagesService, DEFAULT_IMPORT_MAX_BYTES, imageOwner } from './images.service';
export type { ImportResult, ImportedImage, RemoveResult } from './images.service';
export { ImagePruneService } from './image-prune.service';
export type { PruneResult } from './image-prune.service';
export { ImageRepository } from './image.repository';
export type { ImageRecord, ImageLayerRecord, ImageOrigin, ImageOwner, ImageTag } from './image.repository';
export { PreparedImageCache } from './prepared-image-cache';
export { ImageProvider } from './image-provider';
export type { PreparedImage } from './image-provider';
export { LayerUnpacker, prepareLowerdirs } from './layers';
export { FsBlobStore, StoresModule, digestHex } from './store';
export type { BlobReader, BlobStore, StagedBlob } from './store';
export {
  parseImageReference,
  formatImageReference,
  imageName,
  isValidDigest,
  isValidRegistry,
  isValidRepositoryName,
  isValidTag,
  looksLikeRegistry,
  NAME_TOTAL_LENGTH_MAX,
} from './reference/image-reference';
export type { ImageReference, ParseImageReferenceOptions } from './reference/image-reference';
export type { ParsedImage } from './archive-images';
export type { Descriptor, RuntimeConfig } from './image-manifest';
export {
  MEDIA_TYPES,
  INDEX_TYPES,
  hostPlatform,
  imageConfigSchema,
  isLayerMediaType,
  manifestSchema,
  parseDocument,
} from './image-manifest';
export type { BlobInfo, ByteRange } from './store/blob-store';
