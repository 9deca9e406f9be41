// Image layers on disk for the runtime: safe unpacking and the overlay they stack into.
export { LayerUnpacker } from './unpack-layer';
export type { LayerSource, UnpackOptions } from './unpack-layer';
export { planLowerdirs, prepareLowerdirs } from './overlay-plan';
