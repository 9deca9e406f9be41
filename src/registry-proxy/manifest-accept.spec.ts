import { createHash } from 'node:crypto';
import { acceptedTypes, negotiate, Negotiable } from './manifest-accept';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from './upstream/media-types';

const doc = (mediaType: string, body: object): Negotiable => {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, ...body }));
  return { mediaType, bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
};
const amd64 = doc(OCI_MANIFEST, { config: {}, layers: [] });
const dockerAmd64 = doc(DOCKER_MANIFEST, { config: {}, layers: [] });
const entry = (m: Negotiable, architecture: string) => ({
  mediaType: m.mediaType,
  digest: m.digest,
  size: m.bytes.length,
  platform: { os: 'linux', architecture },
});
const index = doc(OCI_INDEX, { manifests: [entry(amd64, 's390x'), entry(amd64, 'amd64')] });
const list = doc(DOCKER_MANIFEST_LIST, { manifests: [entry(dockerAmd64, 'amd64')] });
const armOnly = doc(OCI_INDEX, { manifests: [entry(amd64, 'arm64')] });
const children = new Map([amd64, dockerAmd64].map((m) => [m.digest, m]));
const child = (d: string) => Promise.resolve(children.get(d) as Negotiable);
const byTag = { name: 'up/app', reference: '1', isDigest: false };

describe('acceptedTypes', () => {
  it('reads lists, repeated headers, parameters and q=0; no header or a wildcard admits anything', () => {
    expect(acceptedTypes(undefined)).toBeUndefined();
    expect(acceptedTypes('')).toBeUndefined();
    expect(acceptedTypes(`${OCI_MANIFEST}, */*;q=0.1`)).toBeUndefined();
    expect(acceptedTypes([`${OCI_INDEX}; q=0.5`, ` ${DOCKER_MANIFEST} `])).toEqual(
      new Set([OCI_INDEX, DOCKER_MANIFEST]),
    );
    expect(acceptedTypes(`${OCI_INDEX};q=0, ${OCI_MANIFEST};q=0.000`)).toEqual(new Set());
    expect(acceptedTypes(`${OCI_INDEX};q=0.01`)).toEqual(new Set([OCI_INDEX]));
  });
});

describe('negotiate', () => {
  it('serves what is stored when the client takes it or takes anything', async () => {
    expect(await negotiate(index, undefined, byTag, child)).toEqual({ manifest: index });
    expect(await negotiate(index, new Set([OCI_INDEX]), byTag, child)).toEqual({ manifest: index });
  });

  it('an index by tag, for a client that takes no index: the linux/amd64 manifest', async () => {
    expect(await negotiate(index, new Set([OCI_MANIFEST]), byTag, child)).toEqual({
      manifest: amd64,
      index: index.digest,
    });
    expect(await negotiate(list, new Set([DOCKER_MANIFEST]), byTag, child)).toEqual({
      manifest: dockerAmd64,
      index: list.digest,
    });
  });

  it('refuses with MANIFEST_UNKNOWN and the reason when nothing fits', async () => {
    const refused = (m: Negotiable, accept: string[], ask = byTag) =>
      negotiate(m, new Set(accept), ask, child).then(
        () => 'served',
        (err: { code: string; message: string }) => `${err.code}: ${err.message}`,
      );
    expect(await refused(index, [DOCKER_MANIFEST])).toMatch(
      /^REGISTRY_MANIFEST_UNKNOWN: .*linux\/amd64 manifest is application\/vnd\.oci\.image\.manifest\.v1\+json/,
    );
    expect(
      await refused(index, [OCI_MANIFEST], { ...byTag, reference: index.digest, isDigest: true }),
    ).toMatch(/is an index .*ask by tag/);
    expect(await refused(armOnly, [OCI_MANIFEST])).toMatch(/no linux\/amd64 manifest/);
    expect(await refused(amd64, [DOCKER_MANIFEST])).toMatch(/does not include; .*unconverted/);
  });
});
