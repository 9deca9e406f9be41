import { WardenError } from '../platform/errors';
import { isIndexType, selectPlatform } from './upstream/media-types';
import type { Platform } from './upstream/media-types';

/** The platform an index resolves to for a client that cannot take an index (distribution's default too). */
export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/**
 * The manifest media types a request's Accept admits, or undefined for "anything": no Accept
 * at all (curl), or a wildcard. Parameters are dropped, and `q=0` means "not this" (RFC 9110
 * §12.5.1). Repeated headers arrive joined with commas.
 */
export function acceptedTypes(header: string | string[] | undefined): Set<string> | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text?.trim()) return undefined;
  const types = new Set<string>();
  for (const part of text.split(',')) {
    const [type, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (!type) continue;
    if (params.some((p) => /^q\s*=\s*0(?:\.0{0,3})?$/.test(p))) continue;
    if (type === '*/*' || type === 'application/*') return undefined;
    types.add(type);
  }
  return types;
}

export interface Negotiable {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/**
 * What to answer a manifest request with, given what is stored and what the client accepts
 * (distribution's registry/handlers/manifests.go, made consistent across Docker and OCI):
 *
 *   stored type accepted (or anything accepted)     → the stored manifest
 *   index by tag, client takes no index             → the linux/amd64 entry, if the client takes its type
 *   index by digest, or any other mismatch          → MANIFEST_UNKNOWN saying why
 *
 * Nothing is converted between Docker and OCI formats: new bytes would need a new digest, and
 * the client checks the one it asked for. `child` fetches an index entry by digest (through
 * the cache, so it is verified and stored like any manifest).
 */
export async function negotiate<M extends Negotiable>(
  found: M,
  accept: Set<string> | undefined,
  ask: { name: string; reference: string; isDigest: boolean },
  child: (digest: string) => Promise<M>,
): Promise<{ manifest: M; index?: string }> {
  if (!accept || accept.has(found.mediaType)) return { manifest: found };
  const shown = `${ask.name}${ask.isDigest ? '@' : ':'}${ask.reference}`;
  const refuse = (why: string, detail: Record<string, unknown> = {}) =>
    new WardenError('REGISTRY_MANIFEST_UNKNOWN', `manifest ${shown}: ${why}`, {
      reason: 'not-acceptable',
      mediaType: found.mediaType,
      accepted: [...accept],
      ...detail,
    });
  if (!isIndexType(found.mediaType))
    throw refuse(
      `it is ${found.mediaType}, which the request's Accept does not include; Warden serves manifests as the upstream has them, unconverted`,
    );
  const platform = `${DEFAULT_PLATFORM.os}/${DEFAULT_PLATFORM.architecture}`;
  if (ask.isDigest)
    throw refuse(
      `${found.digest} is an index (${found.mediaType}), which the request's Accept does not include; accept it, or ask by tag to get the ${platform} image manifest`,
    );
  const entry = selectPlatform(found.bytes, DEFAULT_PLATFORM);
  if (!entry)
    throw refuse(
      `it is an index (${found.mediaType}) with no ${platform} manifest, and the request's Accept does not include indexes`,
    );
  if (entry.mediaType && !accept.has(entry.mediaType))
    throw refuse(
      `it is an index, and its ${platform} manifest is ${entry.mediaType}; the request's Accept includes neither`,
      { platformDigest: entry.digest, platformMediaType: entry.mediaType },
    );
  const m = await child(entry.digest);
  if (!accept.has(m.mediaType))
    throw refuse(`its ${platform} manifest is ${m.mediaType}, which the request's Accept does not include`, {
      platformDigest: m.digest,
    });
  return { manifest: m, index: found.digest };
}
