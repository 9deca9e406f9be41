import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { AuthModule } from '../auth';
import { PolicyModule } from '../policy';
import { DistributionController } from './distribution.controller';
import { PullService } from './pull.service';
import { RegistryAuthGuard } from './registry-auth.guard';
import { StoresModule } from './stores';
import { Upstreams } from './upstreams';

/** The /v2/ pull-through proxy in front of the configured upstreams (issue 5). API processes only. */
@Module({
  imports: [AuditModule, AuthModule, PolicyModule, StoresModule],
  providers: [Upstreams, PullService, RegistryAuthGuard],
  controllers: [DistributionController],
  exports: [PullService, Upstreams],
})
export class RegistryProxyModule {}
