// linux: what other modules may use.
export {
  CAPABILITIES,
  DOCKER_DEFAULT_CAPABILITIES,
  LINUX_CAPABILITIES,
  capabilityBit,
  hasCapability,
  isCapabilityName,
  normalizeCapability,
} from './capabilities';
export type { CapabilityName } from './capabilities';
export {
  MIN_SIZED_FILESYSTEM_BYTES,
  ensureMounted,
  isMountPoint,
  makeSizedFilesystem,
  moveMount,
  sizedFilesystemUsage,
  unmountSized,
} from './sized-filesystem';
