import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { AuthModule } from '../auth';
import { PolicyModule } from '../policy';
import { DistributionController } from './distribution.controller';
import { PullService } from './pull.service';
import { RegistryAuthGuard } from './registry-auth.guard';
import { StoresModule } from './stores';
import { RegistryUpstreamRepository } from './upstream-admin/registry-upstream.repository';
import { UpstreamAdminService } from './upstream-admin/upstream-admin.service';
import { UpstreamCredentialsBox } from './upstream-admin/upstream-credentials';
import { UpstreamsController } from './upstream-admin/upstreams.controller';
import { Upstreams } from './upstreams';

/**
 * The /v2/ pull-through proxy in front of the configured upstreams, and the admin routes that
 * manage them (issue 5). API processes only: workers never pull.
 */
@Module({
  imports: [AuditModule, AuthModule, PolicyModule, StoresModule],
  providers: [
    Upstreams,
    PullService,
    RegistryAuthGuard,
    RegistryUpstreamRepository,
    UpstreamCredentialsBox,
    UpstreamAdminService,
  ],
  controllers: [DistributionController, UpstreamsController],
  exports: [PullService, Upstreams],
})
export class RegistryProxyModule {}
