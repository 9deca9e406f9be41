import { Module } from '@nestjs/common';
import { join } from 'node:path';
import { AuditModule } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { RegistryProxyModule } from '../../registry-proxy';
import { FsBlobStore, StoresModule } from '../../registry-proxy/stores';
import { createLibcSyscalls } from '../ffi/libc';
import { LayerUnpacker } from '../rootfs';
import { ImageProvider } from '../container/image-provider';
import { ContainerRepository } from '../container/container.repository';
import { ImagePruneService } from './image-prune.service';
import { ImagePullService } from './image-pull.service';
import { IMAGE_USAGE, ImageUsage } from './image-usage';
import { ImageRepository } from './image.repository';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';
import { PreparedImageCache } from './prepared-image-cache';
import { StoreImageProvider } from './store-image-provider';

/**
 * Local images: import, pull (through the registry proxy), list, inspect, remove, prune, and
 * the layer unpacker the runtime stacks containers from (as the runtime's ImageProvider). An
 * image is in use while any container, in any state, was created from it.
 */
@Module({
  imports: [AuditModule, StoresModule, RegistryProxyModule],
  providers: [
    ImageRepository,
    ImagesService,
    ImagePullService,
    ImagePruneService,
    PreparedImageCache,
    ContainerRepository,
    {
      provide: IMAGE_USAGE,
      inject: [ContainerRepository],
      useFactory: (containers: ContainerRepository): ImageUsage => ({
        containersUsing: (digest) => containers.idsUsingImage(digest),
      }),
    },
    { provide: ImageProvider, useClass: StoreImageProvider },
    {
      provide: LayerUnpacker,
      inject: [WARDEN_CONFIG, FsBlobStore],
      useFactory: (config: WardenConfig, store: FsBlobStore) =>
        new LayerUnpacker(join(config.dataDir, 'layers'), store, createLibcSyscalls()),
    },
  ],
  controllers: [ImagesController],
  exports: [
    ImagesService,
    ImagePullService,
    ImagePruneService,
    ImageRepository,
    LayerUnpacker,
    ImageProvider,
  ],
})
export class ImagesModule {}
