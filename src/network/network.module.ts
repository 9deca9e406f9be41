import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { IpamRepository } from './ipam.repository';
import { NetworkAttacher } from './network-attacher';
import { NetworkRepository } from './network.repository';
import { NetworkService } from './network.service';
import { NetworksController } from './networks.controller';

/**
 * Networks (issue 16): records and addresses in PostgreSQL, the host side through netavark.
 * Below the runtime: it knows containers only as the runtime describes them
 * (NetworkedContainer), and the runtime calls NetworkAttacher at create, start and exit.
 */
@Module({
  imports: [AuditModule],
  providers: [NetworkRepository, IpamRepository, NetworkService, NetworkAttacher],
  controllers: [NetworksController],
  exports: [NetworkService, NetworkAttacher],
})
export class NetworkModule {}
