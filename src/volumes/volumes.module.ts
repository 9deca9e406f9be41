import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { PolicyModule } from '../policy';
import { VolumeRepository } from './volume.repository';
import { VolumesController } from './volumes.controller';
import { VolumesService } from './volumes.service';

/** Volumes (issue 17): the local driver, their records and mounts, the REST routes. */
@Module({
  imports: [AuditModule, PolicyModule],
  providers: [VolumeRepository, VolumesService],
  controllers: [VolumesController],
  exports: [VolumesService],
})
export class VolumesModule {}
