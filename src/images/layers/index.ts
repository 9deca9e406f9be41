// Image layers on disk for the runtime: safe unpacking and the overlay they stack into.
export { LayerUnpacker } from './unpack-layer';
export type { LayerSource, UnpackedLayer, UnpackOptions } from './unpack-layer';
export { planLowerdirs, prepareLayers, prepareLowerdirs } from './overlay-plan';
