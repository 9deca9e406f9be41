import { WardenError } from '../platform/errors';
import { parseRange } from './http-range';
import { parseRegistryPath } from './registry-path';
import { selectPlatform } from './upstream/media-types';
import { formatChallenge, parseChallenge } from './upstream/www-authenticate';

const D = `sha256:${'a'.repeat(64)}`;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as WardenError).code;
  }
  return 'none';
};

describe('parseRegistryPath', () => {
  it('reads each route, names with slashes included', () => {
    expect(parseRegistryPath('/v2/')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2/token')).toEqual({ kind: 'token' });
    expect(parseRegistryPath('/v2/hub/a/b/manifests/1.0')).toEqual({
      kind: 'manifest',
      name: 'hub/a/b',
      reference: '1.0',
      isDigest: false,
    });
    expect(parseRegistryPath(`/v2/hub/manifests/manifests/${D}`)).toMatchObject({
      name: 'hub/manifests',
      isDigest: true,
    });
    expect(parseRegistryPath(`/v2/hub/x/blobs/${D}`)).toEqual({ kind: 'blob', name: 'hub/x', digest: D });
    expect(parseRegistryPath('/v2/hub/x/tags/list')).toEqual({ kind: 'tags', name: 'hub/x' });
    expect(parseRegistryPath('/v2/hub/x/blobs/uploads/')).toEqual({ kind: 'upload', name: 'hub/x' });
    expect(parseRegistryPath('/v2/hub/x/other/thing')).toBeUndefined();
  });

  it('refuses traversal, encoded separators and bad grammar with the right code', () => {
    expect(codeOf(() => parseRegistryPath('/v2/hub/../x/manifests/1'))).toBe('REGISTRY_NAME_INVALID');
    expect(codeOf(() => parseRegistryPath('/v2/hub/%2e%2e/x/manifests/1'))).toBe('REGISTRY_NAME_INVALID');
    expect(codeOf(() => parseRegistryPath('/v2/hub/a%2fb/manifests/1'))).toBe('REGISTRY_NAME_INVALID');
    expect(codeOf(() => parseRegistryPath('/v2/hub/a%zz/manifests/1'))).toBe('REGISTRY_NAME_INVALID');
    expect(codeOf(() => parseRegistryPath(`/v2/hub/${'a'.repeat(256)}/manifests/1`))).toBe(
      'REGISTRY_NAME_INVALID',
    );
    expect(codeOf(() => parseRegistryPath('/v2/hub/x/manifests/.bad'))).toBe('REGISTRY_TAG_INVALID');
    expect(codeOf(() => parseRegistryPath('/v2/hub/x/manifests/sha256:abc'))).toBe('BLOB_DIGEST_INVALID');
    expect(codeOf(() => parseRegistryPath('/v2/hub/x/blobs/latest'))).toBe('BLOB_DIGEST_INVALID');
  });
});

describe('parseRange', () => {
  it('answers inclusive offsets, the whole blob, or 416', () => {
    expect(parseRange(undefined, 100, D)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100, D)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100, D)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=90-500', 100, D)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100, D)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=0-1,5-6', 100, D)).toBeUndefined();
    expect(codeOf(() => parseRange('bytes=100-', 100, D))).toBe('BLOB_RANGE_NOT_SATISFIABLE');
  });
});

describe('WWW-Authenticate', () => {
  it('parses the registry Bearer challenge and round-trips quoting', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:a/b:pull',
      },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    const header = formatChallenge('Bearer', { realm: 'http://h/v2/token', service: 'a"b' });
    expect(parseChallenge(header)?.params).toEqual({ realm: 'http://h/v2/token', service: 'a"b' });
  });
});

describe('selectPlatform', () => {
  it('picks linux/amd64 and never an attestation entry', () => {
    const index = Buffer.from(
      JSON.stringify({
        manifests: [
          { digest: 'sha256:1', platform: { os: 'unknown', architecture: 'unknown' } },
          { digest: 'sha256:2', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { digest: 'sha256:3', platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 'amd64' })?.digest).toBe('sha256:3');
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe(
      'sha256:2',
    );
    expect(selectPlatform(index, { os: 'windows', architecture: 'amd64' })).toBeUndefined();
  });
});
