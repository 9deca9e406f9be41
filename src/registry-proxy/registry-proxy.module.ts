import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { AuthModule } from '../auth';
import { PolicyModule } from '../policy';
import { DistributionController } from './distribution.controller';
import { ImagePullController } from './image-pull.controller';
import { ImagePullService } from './image-pull.service';
import { ImagePushService } from './image-push.service';
import { PullService } from './pull.service';
import { RegistryAuthGuard } from './registry-auth.guard';
import { ImagesModule } from '../images';
import { RegistryUpstreamRepository } from './upstream-admin/registry-upstream.repository';
import { UpstreamAdminService } from './upstream-admin/upstream-admin.service';
import { UpstreamCredentialsBox } from './upstream-admin/upstream-credentials';
import { UpstreamsController } from './upstream-admin/upstreams.controller';
import { Upstreams } from './upstreams';

/**
 * The /v2/ pull-through proxy in front of the configured upstreams, the admin routes that
 * manage them, and image pulls into the local store (`POST /images/pull`, the runtime's pull
 * on create). API processes only: workers never pull.
 */
@Module({
  imports: [AuditModule, AuthModule, PolicyModule, ImagesModule],
  providers: [
    Upstreams,
    PullService,
    ImagePullService,
    ImagePushService,
    RegistryAuthGuard,
    RegistryUpstreamRepository,
    UpstreamCredentialsBox,
    UpstreamAdminService,
  ],
  controllers: [DistributionController, UpstreamsController, ImagePullController],
  exports: [PullService, ImagePullService, ImagePushService, Upstreams],
})
export class RegistryProxyModule {}
