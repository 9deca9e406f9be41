/**
 * Who still uses an image. Removal asks before deleting anything; the container runtime
 * provides the real answer (containers in any state created from the image) by binding
 * IMAGE_USAGE in its module. Until it exists nothing uses an image.
 */
export interface ImageUsage {
  /** Ids of containers created from this manifest digest, in any state. */
  containersUsing(manifestDigest: string): Promise<string[]>;
}

export const IMAGE_USAGE = Symbol('IMAGE_USAGE');

export const NO_IMAGE_USAGE: ImageUsage = {
  containersUsing: async () => [],
};
