import type { SpecImage } from './container-spec';

/**
 * An attach to a running container's stdio (`docker attach`, `docker run -it`/`start -ai`
 * attaching, the WebSocket attach of both APIs), as the policy sees it: reading what a
 * container prints, and, with stdin, typing into its process.
 */
export interface AttachSpec {
  container: { id: string; name: string; image: SpecImage; labels: Record<string, string> };
  /** The client's bytes go to the container's stdin (an interactive session). */
  stdin: boolean;
  tty: boolean;
}
