import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { PolicyModule } from '../policy';
import { VolumeRepository } from './volume.repository';
import { VolumesController } from './volumes.controller';
import { VolumesService } from './volumes.service';
import { VolumeUsage } from './volume-usage';

/** Volumes (issue 17): the local driver, their records and mounts, the REST routes. */
@Module({
  imports: [AuditModule, PolicyModule],
  providers: [VolumeRepository, VolumesService, VolumeUsage],
  controllers: [VolumesController],
  exports: [VolumesService, VolumeUsage],
})
export class VolumesModule {}
