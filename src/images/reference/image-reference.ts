/**
 * Image references by the distribution grammar (distribution/reference, regexp.go), shared by
 * the policy (image-source checks) and the /v2/ proxy (NAME_INVALID, TAG_INVALID, DIGEST_INVALID).
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component [ "/" path-component ]*
 *   domain     := host [ ":" port ]
 */

export interface ImageReference {
  /** host[:port]; '' when none was given, which Warden reads as a locally imported image. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface ParseImageReferenceOptions {
  /** Registry to assume when the reference names none. */
  defaultRegistry?: string;
  /** Docker CLI habit: no registry means docker.io, and one-component names live under library/. */
  dockerHubNormalize?: boolean;
}

export type ParseImageReferenceResult = { ok: true; ref: ImageReference } | { ok: false; error: string };

// Separators use `-+` where older grammars wrote `-*`: the language is the same, but `-*`
// between two `[a-z0-9]+` makes the regex backtrack exponentially on long invalid input.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6_HOST = '\\[[a-fA-F0-9:]+\\]';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6_HOST})(?::[0-9]+)?$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
// Generic digest grammar (distribution/reference): algorithm ":" hex, at least 128 bits.
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
// Registered algorithms are stricter (OCI image-spec descriptor.md): fixed length, lowercase hex.
const REGISTERED_DIGESTS: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/** distribution's NameTotalLengthMax: the whole name, domain included. */
export const NAME_TOTAL_LENGTH_MAX = 255;

/** A repository path (no domain): lowercase components separated by '/'. */
export function isValidRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= NAME_TOTAL_LENGTH_MAX && REPOSITORY_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isValidDigest(digest: string): boolean {
  if (!DIGEST_RE.test(digest)) return false;
  const colon = digest.indexOf(':');
  const strict = REGISTERED_DIGESTS[digest.slice(0, colon)];
  return strict === undefined || strict.test(digest.slice(colon + 1));
}

/** host[:port] as it may appear before the first '/' of a name. */
export function isValidRegistry(registry: string): boolean {
  return registry.length > 0 && DOMAIN_RE.test(registry);
}

/**
 * Docker's splitDockerDomain: the first component is a registry only if it could not be a
 * repository component — it has a '.', a ':', uppercase, or is exactly 'localhost'.
 */
export function looksLikeRegistry(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component.toLowerCase() !== component
  );
}

function describeDigestProblem(digest: string): string {
  const colon = digest.indexOf(':');
  if (colon <= 0) return `digest "${digest}" must look like algorithm:hex, e.g. sha256:<64 hex digits>`;
  const algorithm = digest.slice(0, colon);
  if (algorithm === 'sha256') return `digest "${digest}" must be sha256: followed by 64 lowercase hex digits`;
  if (algorithm === 'sha512')
    return `digest "${digest}" must be sha512: followed by 128 lowercase hex digits`;
  return `digest "${digest}" is not algorithm:hex with at least 32 hex digits`;
}

function describeNameProblem(path: string): string {
  if (path.toLowerCase() !== path) return `repository name "${path}" must be lowercase`;
  if (path.split('/').some((c) => c === ''))
    return `repository name "${path}" has an empty path component (doubled or trailing '/')`;
  return `repository name "${path}" may only contain lowercase letters, digits and single separators (. _ __ -) between them`;
}

export function parseImageReference(
  input: string,
  opts: ParseImageReferenceOptions = {},
): ParseImageReferenceResult {
  const fail = (why: string): ParseImageReferenceResult => ({
    ok: false,
    error: `invalid image reference "${input}": ${why}`,
  });
  if (typeof input !== 'string' || input.length === 0) return fail('it is empty');
  if (input.trim() !== input || /\s/.test(input)) return fail('it contains whitespace');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) return fail(describeDigestProblem(digest));
  }

  // A tag's ':' is the last one after the last '/'; an earlier ':' is a registry port.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag))
      return fail(
        `tag "${tag}" must be 1-128 characters of letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
      );
  }
  if (rest.length === 0) return fail('it has no repository name');
  if (rest.length > NAME_TOTAL_LENGTH_MAX)
    return fail(`name is ${rest.length} characters long; the limit is ${NAME_TOTAL_LENGTH_MAX}`);

  let registry = '';
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!isValidRegistry(registry)) return fail(`registry "${registry}" is not a valid host[:port]`);
  }
  if (!REPOSITORY_RE.test(repository)) return fail(describeNameProblem(repository));

  if (registry === '' && opts.defaultRegistry) registry = opts.defaultRegistry;
  if (opts.dockerHubNormalize) {
    if (registry === '' || registry === 'index.docker.io') registry = 'docker.io';
    if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  }
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return { ok: true, ref };
}

/** registry/repository without tag or digest; the unit that image-source rules match. */
export function imageName(ref: ImageReference): string {
  return ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
}

export function formatImageReference(ref: ImageReference): string {
  let out = imageName(ref);
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}
