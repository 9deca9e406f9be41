import { WardenError } from '../platform/errors';
import { isValidDigest, isValidRepositoryName, isValidTag, NAME_TOTAL_LENGTH_MAX } from '../images';

/** What a /v2/ request asks for, from its raw path (validated; nothing decoded into a separator). */
export type RegistryRoute =
  | { kind: 'base' }
  | { kind: 'token' }
  | { kind: 'manifest'; name: string; reference: string; isDigest: boolean }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'tags'; name: string }
  | { kind: 'upload'; name: string };

const invalidName = (name: string, why: string) =>
  new WardenError('REGISTRY_NAME_INVALID', `repository name "${name.slice(0, 300)}" is invalid: ${why}`, {
    name: name.slice(0, 300),
  });

/**
 * Parses the path after `/v2/` from the raw request URL. Each segment is percent-decoded on
 * its own, so `%2f` can never become a separator, and `.`/`..` are refused rather than
 * resolved (distribution's router redirects them to the cleaned path — a different name).
 */
export function parseRegistryPath(rawPath: string): RegistryRoute | undefined {
  const path = rawPath.replace(/^\/v2/, '');
  if (path === '' || path === '/') return { kind: 'base' };
  if (path === '/token') return { kind: 'token' };
  const raw = path.slice(1).split('/');
  if (raw[raw.length - 1] === '') raw.pop();
  const segs = raw.map((s) => {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw invalidName(raw.join('/'), `"${s}" is not valid percent-encoding`);
    }
    if (d.includes('/')) throw invalidName(raw.join('/'), 'an encoded "/" is not allowed');
    if (d === '.' || d === '..' || d === '')
      throw invalidName(raw.join('/'), 'empty, "." and ".." segments are not allowed');
    return d;
  });
  const uploads = segs.lastIndexOf('uploads');
  if (uploads >= 2 && segs[uploads - 1] === 'blobs')
    return { kind: 'upload', name: checkName(segs.slice(0, uploads - 1)) };
  if (segs.length < 3) return undefined;
  const [verb, last] = segs.slice(-2);
  const name = () => checkName(segs.slice(0, -2));
  if (verb === 'manifests') {
    const isDigest = last.includes(':');
    if (isDigest && !isValidDigest(last))
      throw new WardenError(
        'BLOB_DIGEST_INVALID',
        `digest "${last.slice(0, 200)}" is invalid: expected sha256:<64 lowercase hex digits>`,
        { digest: last.slice(0, 200) },
      );
    if (!isDigest && !isValidTag(last))
      throw new WardenError(
        'REGISTRY_TAG_INVALID',
        `tag "${last.slice(0, 200)}" is invalid: 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
        { tag: last.slice(0, 200) },
      );
    return { kind: 'manifest', name: name(), reference: last, isDigest };
  }
  if (verb === 'blobs') {
    if (!isValidDigest(last))
      throw new WardenError(
        'BLOB_DIGEST_INVALID',
        `digest "${last.slice(0, 200)}" is invalid: expected sha256:<64 lowercase hex digits>`,
        { digest: last.slice(0, 200) },
      );
    return { kind: 'blob', name: name(), digest: last };
  }
  if (verb === 'tags' && last === 'list') return { kind: 'tags', name: name() };
  return undefined;
}

function checkName(segs: string[]): string {
  const name = segs.join('/');
  if (name.length > NAME_TOTAL_LENGTH_MAX)
    throw invalidName(name, `it is ${name.length} characters; the limit is ${NAME_TOTAL_LENGTH_MAX}`);
  if (!isValidRepositoryName(name))
    throw invalidName(name, 'use lowercase letters, digits and single separators (. _ __ -) between them');
  return name;
}
