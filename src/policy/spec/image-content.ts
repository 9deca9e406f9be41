/**
 * What unpacking an image's layers found that a policy may refuse (issue 17): only known
 * once the layers are read, so it is judged after the launch decision, before the container
 * exists.
 */
export interface ImageContentSpec {
  /** The reference as the launch named it. */
  image: string;
  digest: string;
  /** Device nodes and fifos outside `/dev`, as layer paths (the first one found per layer). */
  deviceNodes: string[];
}
