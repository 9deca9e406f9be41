// The content store, shared by the runtime (images, layers) and the /v2/ proxy.
export { digestHex, STORE_ALGORITHM } from './blob-store';
export type { BlobInfo, BlobReader, BlobStore, BlobWriter, ByteRange, PutOptions } from './blob-store';
export { FsBlobStore } from './fs-blob-store';
export type { StagedBlob } from './fs-blob-store';
export { StoresModule } from './stores.module';
