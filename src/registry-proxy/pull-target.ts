import { WardenError } from '../platform/errors';
import type { Upstreams, UpstreamTarget } from './';
import { ImageReference, parseImageReference } from '../images';

/** What a pull fetches: the upstream repository, and the tag or digest in it. */
export interface PullTarget {
  target: UpstreamTarget;
  /** A tag (`latest` when none was given) or a digest. */
  reference: string;
  isDigest: boolean;
  /** The name recorded locally and shown to policy: `127.0.0.1:5000/app`, `docker.io/library/busybox`. */
  registry: string;
  repository: string;
  tag?: string;
}

/**
 * Maps a reference as users write it onto a configured upstream (docs/registry-proxy.md,
 * "Pulling into the local store"):
 *
 *   127.0.0.1:5000/app:1      the upstream whose registry is 127.0.0.1:5000 (as policy names it)
 *   docker.io/library/x       the Docker Hub upstream (index.docker.io, registry-1.docker.io too)
 *   local/app:1               upstream alias `local`, repository app (the /v2/ proxy's names)
 *   busybox, bitnami/redis    the Docker Hub upstream, as the docker CLI reads them
 *
 * An alias wins over Docker Hub for a first component that is both. Undefined when nothing
 * configured serves the reference (the caller decides whether that is an error).
 */
export function findPullTarget(upstreams: Upstreams, ref: ImageReference): PullTarget | undefined {
  let alias: string | undefined;
  let path = ref.repository;
  if (ref.registry) {
    alias = upstreams.aliasOf(ref.registry);
  } else {
    const slash = path.indexOf('/');
    if (slash > 0 && upstreams.aliases.includes(path.slice(0, slash))) {
      alias = path.slice(0, slash);
      path = path.slice(slash + 1);
    } else alias = upstreams.dockerHubAlias;
  }
  if (!alias) return undefined;
  const target = upstreams.resolve(`${alias}/${path}`);
  // name:tag@digest is pulled by the digest alone, as docker does; no tag is recorded for it.
  const tag = ref.digest ? undefined : (ref.tag ?? 'latest');
  return {
    target,
    reference: ref.digest ?? (tag as string),
    isDigest: ref.digest !== undefined,
    registry: target.upstream.registry,
    repository: target.repository,
    tag,
  };
}

/** `findPullTarget` for an explicit pull, where no upstream is an error that says what is configured. */
export function pullTargetOf(upstreams: Upstreams, text: string): PullTarget {
  const parsed = parseImageReference(text);
  if (!parsed.ok) throw new WardenError('IMAGE_REFERENCE_INVALID', parsed.error, { reference: text });
  const found = findPullTarget(upstreams, parsed.ref);
  if (found) return found;
  const configured = upstreams.aliases.length
    ? upstreams.aliases.map((a) => `${a} (${upstreams.resolve(`${a}/x`).upstream.registry})`).join(', ')
    : 'none (set WARDEN_REGISTRY_UPSTREAMS or add one with POST /registry/upstreams)';
  throw new WardenError(
    'REGISTRY_NAME_UNKNOWN',
    `no configured upstream serves ${text}: write <upstream>/<repository>[:tag] or name the upstream's registry; upstreams: ${configured}`,
    { reference: text, upstreams: upstreams.aliases },
  );
}
