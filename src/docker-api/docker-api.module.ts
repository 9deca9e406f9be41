import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { AuthModule } from '../auth';
import { ImagesModule } from '../images';
import { RegistryProxyModule } from '../registry-proxy';
import { RuntimeModule } from '../runtime';
import { NetworkModule } from '../network';
import { VolumesModule } from '../volumes';
import { DockerContainerStreamsController } from './container-streams.controller';
import { DockerContainersController } from './containers.controller';
import { DockerApiServer } from './docker-api.server';
import { DockerEventsController } from './events.controller';
import { DockerExecController } from './exec.controller';
import { DockerImagesController } from './images.controller';
import { DockerImageVerbsController } from './image-verbs.controller';
import { DockerNetworksController } from './networks.controller';
import { DockerSystemController } from './system.controller';
import { DockerVolumesController } from './volumes.controller';
import { DockerArchiveController } from './archive.controller';
import { DockerNodeForwarder } from './node-forward';
import { FleetModule } from '../fleet';

/** The Docker Engine API on the unix socket; API roles only (it needs the runtime). */
@Module({
  imports: [
    AuditModule,
    AuthModule,
    RuntimeModule,
    ImagesModule,
    RegistryProxyModule,
    NetworkModule,
    VolumesModule,
    FleetModule,
  ],
  providers: [
    DockerApiServer,
    DockerNodeForwarder,
    DockerSystemController,
    DockerContainersController,
    DockerContainerStreamsController,
    DockerExecController,
    DockerImagesController,
    DockerImageVerbsController,
    DockerEventsController,
    DockerNetworksController,
    DockerVolumesController,
    DockerArchiveController,
  ],
  exports: [DockerApiServer],
})
export class DockerApiModule {}
