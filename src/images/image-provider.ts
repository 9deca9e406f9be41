import type { Caller } from '../platform/http';
import type { ImageHealthcheck } from './image-manifest';
import type { ImageReference } from './reference/image-reference';

/** What a container needs of its image: the unpacked layers and the run defaults from its config. */
export interface ImageRunConfig {
  env: string[];
  cmd: string[];
  entrypoint: string[];
  workingDir?: string;
  user?: string;
  labels: Record<string, string>;
  /** The image's `VOLUME` paths: each gets an anonymous volume unless a mount covers it. */
  volumes: string[];
  /** The image's HEALTHCHECK, if it has one. */
  healthcheck?: ImageHealthcheck;
}

export interface PreparedImage {
  /** The reference as stored (`registry/repository:tag`, registry '' for local images). */
  reference: string;
  digest: string;
  /** Unpacked layer dirs, top layer first (overlayfs lowerdir order). */
  lowerdirs: string[];
  config: ImageRunConfig;
  /** Device nodes under `/dev` its layers hold, left out at unpack (the container's /dev covers them). */
  skippedDevices: string[];
  /** Device nodes and fifos outside `/dev` (each layer's first): admitted by policy, judged per caller. */
  deviceNodes: string[];
}

/**
 * Where images come from: the image store (local imports and registry pulls).
 * Nest injects the implementation the images module provides under this class token.
 */
export abstract class ImageProvider {
  /**
   * Resolves and unpacks an image; throws a WardenError (404) when it is not there. With a
   * caller, an image that is not here may be pulled on their behalf, and device nodes outside
   * `/dev` are judged by their policy (403 when refused). Without one it is a container's own
   * image, admitted when the container was created.
   */
  abstract prepare(ref: ImageReference, caller?: Caller): Promise<PreparedImage>;
}
