import { createHash } from 'node:crypto';
import { buildImage, BuiltImage, OCI_INDEX, OCI_MANIFEST, sha256 } from '../fixtures/images/oci-image';
import {
  DockerRegistry,
  Front,
  describeWithRegistry,
  pushImage,
  startDockerRegistry,
  startFront,
} from '../utils/registry';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const suite = describeWithRegistry('registry manifest tests');

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
/** What docker, podman and skopeo send (skopeo adds the old schema1 types). */
const EVERYTHING = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');
const basic = (token: string) => `Basic ${Buffer.from(`x:${token}`).toString('base64')}`;

async function put(url: string, repo: string, ref: string, mediaType: string, body: object): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(body));
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`${repo}:${ref}: ${res.status} ${await res.text()}`);
  return sha256(bytes);
}

/** The same image's blobs under Docker schema2 media types (a manifest docker build would push). */
function dockerManifestOf(image: BuiltImage) {
  return {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, digest: image.config.digest, size: image.config.bytes.length },
    layers: image.layers.map((l) => ({ mediaType: DOCKER_LAYER, digest: l.digest, size: l.bytes.length })),
  };
}

const entry = (mediaType: string, digest: string, size: number, architecture: string) => ({
  mediaType,
  digest,
  size,
  platform: { os: 'linux', architecture },
});

suite('/v2/ manifests: Accept negotiation and digests across repositories', () => {
  let upstream: DockerRegistry;
  let front: Front;
  let w: TestWarden;
  const image = buildImage({ layers: [Buffer.from('negotiation layer')] });
  const shared = buildImage({ layers: [Buffer.from('shared between repositories')] });
  let indexDigest: string;
  let dockerDigest: string;
  let listDigest: string;

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    await pushImage(upstream.url, 'app/oci', '1', image);
    const size = image.manifest.bytes.length;
    indexDigest = await put(upstream.url, 'app/oci', 'multi', OCI_INDEX, {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        entry(OCI_MANIFEST, image.manifest.digest, size, 's390x'),
        entry(OCI_MANIFEST, image.manifest.digest, size, 'amd64'),
      ],
    });
    const docker = dockerManifestOf(image);
    dockerDigest = await put(upstream.url, 'app/oci', 'docker', DOCKER_MANIFEST, docker);
    listDigest = await put(upstream.url, 'app/oci', 'dlist', DOCKER_LIST, {
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [entry(DOCKER_MANIFEST, dockerDigest, Buffer.byteLength(JSON.stringify(docker)), 'amd64')],
    });
    await pushImage(upstream.url, 'app/a', '1', shared);
    await pushImage(upstream.url, 'app/b', '1', shared);
    front = await startFront(upstream.url);
    w = await startTestWarden('up', { WARDEN_REGISTRY_UPSTREAMS: `up=http+insecure://${front.host}` });
  });
  afterAll(async () => {
    await w?.close();
    await front?.close();
    await upstream?.stop();
  });

  async function get(p: string, accept?: string, method = 'GET', token = ADMIN_TOKEN) {
    const headers: Record<string, string> = { authorization: basic(token) };
    if (accept !== undefined) headers.accept = accept;
    const res = await fetch(`${w.url}/v2/${p}`, { method, headers });
    const body = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      digest: res.headers.get('docker-content-digest'),
      sha256: `sha256:${createHash('sha256').update(body).digest('hex')}`,
      error: res.status >= 400 && method === 'GET' ? JSON.parse(body.toString()).errors[0] : undefined,
    };
  }

  it('serves what is stored to a client that accepts it, to one without Accept and to */*', async () => {
    for (const accept of [EVERYTHING, undefined, '*/*', `${OCI_INDEX};q=0.9`]) {
      const r = await get('up/app/oci/manifests/multi', accept);
      expect([accept, r.status, r.type, r.digest, r.sha256]).toEqual([
        accept,
        200,
        OCI_INDEX,
        indexDigest,
        indexDigest,
      ]);
    }
  });

  it('an index by tag, for a client that takes no index: the linux/amd64 manifest, GET and HEAD alike', async () => {
    for (const method of ['GET', 'HEAD']) {
      const r = await get('up/app/oci/manifests/multi', OCI_MANIFEST, method);
      expect([method, r.status, r.type, r.digest]).toEqual([
        method,
        200,
        OCI_MANIFEST,
        image.manifest.digest,
      ]);
      if (method === 'GET') expect(r.sha256).toBe(image.manifest.digest);
    }
    const q0 = await get('up/app/oci/manifests/multi', `${OCI_INDEX};q=0, ${OCI_MANIFEST}`);
    expect(q0.digest).toBe(image.manifest.digest);
    const list = await get('up/app/oci/manifests/dlist', DOCKER_MANIFEST);
    expect([list.status, list.type, list.digest, list.sha256]).toEqual([
      200,
      DOCKER_MANIFEST,
      dockerDigest,
      dockerDigest,
    ]);
    // The platform manifest is then there by digest, as the client will ask next.
    const next = await get(`up/app/oci/manifests/${image.manifest.digest}`, OCI_MANIFEST);
    expect([next.status, next.sha256]).toEqual([200, image.manifest.digest]);
  });

  it('answers MANIFEST_UNKNOWN with the reason when no accepted type fits; never a converted manifest', async () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'up/app/oci/manifests/multi',
        DOCKER_MANIFEST,
        /linux\/amd64 manifest is application\/vnd\.oci\.image\.manifest\.v1\+json/,
      ],
      [`up/app/oci/manifests/${indexDigest}`, OCI_MANIFEST, /is an index .*ask by tag/],
      [
        'up/app/oci/manifests/1',
        DOCKER_MANIFEST,
        /is application\/vnd\.oci\.image\.manifest\.v1\+json, which the request's Accept does not include/,
      ],
      [
        'up/app/oci/manifests/docker',
        OCI_MANIFEST,
        /is application\/vnd\.docker\.distribution\.manifest\.v2\+json/,
      ],
    ];
    for (const [p, accept, message] of cases) {
      const r = await get(p, accept);
      expect([p, r.status, r.error.code]).toEqual([p, 404, 'MANIFEST_UNKNOWN']);
      expect(r.error.message).toMatch(message);
      expect(r.error.detail).toMatchObject({ reason: 'not-acceptable' });
    }
    const head = await get(`up/app/oci/manifests/${listDigest}`, OCI_MANIFEST, 'HEAD');
    expect(head.status).toBe(404);
  });

  it('a digest cached through one repository is served under another without asking upstream', async () => {
    const a = await get('up/app/a/manifests/1', EVERYTHING);
    expect(a.digest).toBe(shared.manifest.digest);
    for (const blob of [shared.config, ...shared.layers])
      expect((await get(`up/app/a/blobs/${blob.digest}`)).sha256).toBe(blob.digest);
    const before = front.count('GET', '/v2/') + front.count('HEAD', '/v2/');

    const m = await get(`up/app/b/manifests/${shared.manifest.digest}`, EVERYTHING);
    expect([m.status, m.sha256]).toEqual([200, shared.manifest.digest]);
    for (const blob of [shared.config, ...shared.layers]) {
      const r = await get(`up/app/b/blobs/${blob.digest}`);
      expect([r.status, r.sha256]).toEqual([200, blob.digest]);
      expect((await get(`up/app/b/blobs/${blob.digest}`, undefined, 'HEAD')).status).toBe(200);
    }
    expect(front.count('GET', '/v2/') + front.count('HEAD', '/v2/')).toBe(before);
    expect(front.count('GET', '/app/b/') + front.count('HEAD', '/app/b/')).toBe(0);
  });

  it('the cache never overrides policy: a denied name is DENIED even for a cached digest', async () => {
    await api(w, 'POST', '/principals', { body: { id: 'dev', role: 'deployer' } });
    const token = (await api(w, 'POST', '/tokens', { body: { principalId: 'dev', name: 'pull' } })).body
      .token;
    const created = await api(w, 'POST', '/policies', {
      body: {
        name: 'only-b',
        mode: 'enforce',
        rules: { images: { allowedRegistries: [`${front.host}/app/b`] } },
      },
    });
    await api(w, 'POST', '/policies/only-b/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/only-b/bindings', { body: { kind: 'principal', value: 'dev' } });
    const before = front.count('GET', '/v2/') + front.count('HEAD', '/v2/');

    const paths = [
      `up/app/a/manifests/${shared.manifest.digest}`,
      `up/app/a/blobs/${shared.layers[0].digest}`,
    ];
    for (const p of paths) {
      const r = await get(p, EVERYTHING, 'GET', token);
      expect([p, r.status, r.error.code]).toEqual([p, 403, 'DENIED']);
    }
    const allowed = await get(`up/app/b/blobs/${shared.layers[0].digest}`, undefined, 'GET', token);
    expect([allowed.status, allowed.sha256]).toEqual([200, shared.layers[0].digest]);
    expect(front.count('GET', '/v2/') + front.count('HEAD', '/v2/')).toBe(before);
  });
});
