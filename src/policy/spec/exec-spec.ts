import type { SpecImage } from './container-spec';

/**
 * An exec, as the policy sees it (issue 15): a launch inside a running container. The runtime
 * builds it after resolving the user against the image's passwd file, so a rule on root sees
 * the uid the process would really get, whatever name was asked for.
 */
export interface ExecSpec {
  container: { id: string; name: string; image: SpecImage; labels: Record<string, string> };
  cmd: string[];
  /** As asked for (`--user`), or the container's/image's user when the exec names none. */
  user: string;
  uid: number;
  /** Only the variables the exec adds (`docker exec -e`); the container's own were judged at create. */
  env: string[];
  privileged: boolean;
  tty: boolean;
}
