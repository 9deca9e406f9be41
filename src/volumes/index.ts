export { VolumesModule } from './volumes.module';
export { VolumesService } from './volumes.service';
export type { VolumeView } from './volumes.service';
export { ANONYMOUS_LABEL } from './volume';
export type { ResolvedVolumeMount, VolumeCreateRequest, VolumeFilter, VolumeRecord } from './volume';
