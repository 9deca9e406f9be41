export { VolumesModule } from './volumes.module';
export { VolumesService } from './volumes.service';
export type { VolumeView } from './volumes.service';
export { VolumeUsage } from './volume-usage';
export type { ContainerVolumeUsage } from './volume-usage';
export { ANONYMOUS_LABEL } from './volume';
export type { ResolvedVolumeMount, VolumeCreateRequest, VolumeFilter, VolumeRecord } from './volume';
