import { Module } from '@nestjs/common';
import { join } from 'node:path';
import { AuditModule } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { createLibcSyscalls } from '../platform/ffi';
import { ImageBuildService } from './image-build.service';
import { ImagePruneService } from './image-prune.service';
import { ImageVerbsService } from './image-verbs.service';
import { ImageRepository } from './image.repository';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';
import { LayerUnpacker } from './layers';
import { PreparedImageCache } from './prepared-image-cache';
import { FsBlobStore, StoresModule } from './store';

/**
 * Local images: the content store, import (archives and root filesystems), commit, tag,
 * history, save, list, inspect, remove, prune, and the layer
 * unpacker the runtime stacks containers from. It depends on nothing but the audit trail and
 * the platform: the registry proxy (pulls) and the runtime (containers) build on it, and
 * policy reads image references from it. An image is in use while any container, in any
 * state, was created from it (ImageRepository.containersUsing reads the containers table).
 */
@Module({
  imports: [AuditModule, StoresModule],
  providers: [
    ImageRepository,
    ImagesService,
    ImagePruneService,
    ImageBuildService,
    ImageVerbsService,
    PreparedImageCache,
    {
      provide: LayerUnpacker,
      inject: [WARDEN_CONFIG, FsBlobStore],
      useFactory: (config: WardenConfig, store: FsBlobStore) =>
        new LayerUnpacker(join(config.dataDir, 'layers'), store, createLibcSyscalls()),
    },
  ],
  controllers: [ImagesController],
  exports: [
    StoresModule,
    ImagesService,
    ImagePruneService,
    ImageBuildService,
    ImageVerbsService,
    ImageRepository,
    LayerUnpacker,
    PreparedImageCache,
  ],
})
export class ImagesModule {}
