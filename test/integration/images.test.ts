/*
 * Image import, list, inspect and removal through the real REST API (embedded Postgres,
 * redis, the store on disk): every archive shape, shared blobs, all-or-nothing failures.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { dockerSave, ociArchive } from '../fixtures/images/archives';
import { busyboxImage, multiLayerImage } from '../fixtures/images/fixture-images';
import { BuiltImage, hexOf, LAYER_TAR, LAYER_TAR_GZIP, tarOf } from '../fixtures/images/oci-image';
import { busyboxAvailable } from '../fixtures/rootfs/busybox-rootfs';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const describeBusybox = busyboxAvailable() ? describe : describe.skip;
if (!busyboxAvailable())
  console.warn('image tests skipped: /bin/busybox missing (apt-get install busybox-static)');

let w: TestWarden;
let busyboxGzip: BuiltImage;
let busyboxPlain: BuiltImage;

beforeAll(async () => {
  w = await startTestWarden();
  busyboxGzip = await busyboxImage({ gzip: true });
  busyboxPlain = await busyboxImage({ gzip: false });
});
afterAll(async () => {
  await w?.close();
});

async function upload(body: Buffer, opts: { type?: string; query?: string; token?: string } = {}) {
  const res = await fetch(`${w.url}/images/import${opts.query ?? ''}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${opts.token ?? ADMIN_TOKEN}`,
      'content-type': opts.type ?? 'application/x-tar',
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

const blobsDir = () => join(w.dataDir, 'store', 'blobs', 'sha256');
/** Everything in the store dir, temp files included: a failed import must leave none. */
const storeFiles = () => (existsSync(blobsDir()) ? readdirSync(blobsDir()).sort() : []);

async function removeAll() {
  const { body } = await api(w, 'GET', '/images');
  for (const i of body.images) expect((await api(w, 'DELETE', `/images/${i.digest}`)).status).toBe(200);
}

describeBusybox('images REST', () => {
  afterEach(removeAll);

  it('imports an oci-archive: rows, tags, blobs by digest, runtime config', async () => {
    const r = await upload(await ociArchive(busyboxGzip, 'busybox:1.36'));
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      format: 'oci-archive',
      images: [
        { digest: busyboxGzip.manifest.digest, tags: ['busybox:1.36'], layers: 1, size: expect.any(Number) },
      ],
    });
    expect(storeFiles()).toEqual([...busyboxGzip.blobs.keys()].map(hexOf).sort());

    const got = await api(w, 'GET', `/images/${encodeURIComponent('busybox:1.36')}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      digest: busyboxGzip.manifest.digest,
      configDigest: busyboxGzip.config.digest,
      os: 'linux',
      tags: [{ registry: '', repository: 'busybox', tag: '1.36' }],
      layers: [
        { digest: busyboxGzip.layers[0].digest, diffId: busyboxGzip.diffIds[0], mediaType: LAYER_TAR_GZIP },
      ],
      config: { Cmd: ['sh'], Entrypoint: null, WorkingDir: '', User: '', Labels: {} },
      imageCreated: '2020-01-01T00:00:00.000Z',
      createdBy: 'admin',
    });
    // The same image by digest, by short id and by name@digest.
    for (const ref of [
      busyboxGzip.manifest.digest,
      hexOf(busyboxGzip.manifest.digest).slice(0, 12),
      `busybox@${busyboxGzip.manifest.digest}`,
    ]) {
      expect((await api(w, 'GET', `/images/${encodeURIComponent(ref)}`)).body.digest).toBe(
        busyboxGzip.manifest.digest,
      );
    }
    const list = await api(w, 'GET', '/images');
    expect(list.body.images.map((i: any) => i.digest)).toEqual([busyboxGzip.manifest.digest]);

    await eventually('image.imported in the audit trail', async () => {
      const ev = await api(w, 'GET', '/audit/events?type=image.imported');
      return ev.body.events.some(
        (e: any) => e.subject === busyboxGzip.manifest.digest && e.payload.format === 'oci-archive',
      );
    });
  });

  it.each([
    ['plain', false],
    ['gzip', true],
  ])('imports a docker-save tar with %s layers, synthesizing an OCI manifest', async (_n, gzip) => {
    const image = gzip ? busyboxGzip : busyboxPlain;
    const r = await upload(
      await dockerSave(image, ['registry.example.com/tools/busybox:v1', 'busybox:saved']),
    );
    expect(r.status).toBe(201);
    expect(r.body.format).toBe('docker-save');
    const [imported] = r.body.images;
    expect(imported.tags.sort()).toEqual(['busybox:saved', 'registry.example.com/tools/busybox:v1']);
    const got = await api(w, 'GET', `/images/${encodeURIComponent('registry.example.com/tools/busybox:v1')}`);
    expect(got.body.layers).toEqual([
      {
        digest: image.layers[0].digest,
        diffId: image.diffIds[0],
        mediaType: gzip ? LAYER_TAR_GZIP : LAYER_TAR,
        size: image.layers[0].bytes.length,
      },
    ]);
    expect(got.body.configDigest).toBe(image.config.digest);
    // The synthesized manifest is a stored blob (the proxy can serve it by digest), and is
    // byte-for-byte the OCI manifest of the same image: a save/import round trip keeps the digest.
    expect(storeFiles()).toContain(hexOf(imported.digest));
    expect(imported.digest).toBe(image.manifest.digest);
  });

  it('accepts a gzip-compressed archive (docker save | gzip) and a multi-layer image', async () => {
    const multi = await multiLayerImage(true);
    const r = await upload(gzipSync(await ociArchive(multi, 'multi:2')), { type: 'application/gzip' });
    expect(r.status).toBe(201);
    expect(r.body.images[0]).toMatchObject({ digest: multi.manifest.digest, layers: 2 });
  });

  it('adds a ?tag= name, and re-importing moves tags without duplicating the image', async () => {
    expect((await upload(await ociArchive(busyboxGzip), { query: '?tag=local/bb:one' })).status).toBe(201);
    expect((await upload(await ociArchive(busyboxGzip, 'busybox:latest'))).status).toBe(201);
    const { body } = await api(w, 'GET', '/images');
    expect(body.images).toHaveLength(1);
    expect(body.images[0].tags.map((t: any) => `${t.repository}:${t.tag}`).sort()).toEqual([
      'busybox:latest',
      'local/bb:one',
    ]);
  });

  it('removes: a name untags, the last name deletes, blobs shared with another image stay', async () => {
    await upload(await ociArchive(busyboxGzip, 'busybox:a'));
    // Plain layers: another manifest and layer, but the same config (diff_ids are equal).
    await upload(await dockerSave(busyboxPlain, ['busybox:b', 'busybox:c']));
    const saved = (await api(w, 'GET', '/images/busybox:b')).body.digest;
    expect(saved).toBe(busyboxPlain.manifest.digest);

    expect((await api(w, 'DELETE', '/images/busybox:b')).body).toEqual({
      untagged: ['busybox:b'],
      deleted: [],
    });
    expect((await api(w, 'DELETE', '/images/busybox:c')).body).toEqual({
      untagged: ['busybox:c'],
      deleted: [saved],
    });
    expect((await api(w, 'GET', '/images/busybox:c')).status).toBe(404);
    // The config is shared with busybox:a and stays; the other manifest and layer go.
    expect(storeFiles()).toEqual([...busyboxGzip.blobs.keys()].map(hexOf).sort());

    const del = await api(w, 'DELETE', `/images/${busyboxGzip.manifest.digest}`);
    expect(del.body).toEqual({ untagged: ['busybox:a'], deleted: [busyboxGzip.manifest.digest] });
    expect(storeFiles()).toEqual([]);
    await eventually('image.removed in the audit trail', async () => {
      const ev = await api(w, 'GET', '/audit/events?type=image.removed');
      return ev.body.events.length >= 2;
    });
  });

  describe('refuses bad archives with a clear 400 and leaves nothing', () => {
    const cases: Array<[string, () => Promise<Buffer>, RegExp]> = [
      [
        'not a tar',
        async () => Buffer.from('this is not a tar archive at all, just text'.repeat(20)),
        /not a usable image archive/,
      ],
      [
        'a tar without an image',
        async () => tarOf([{ name: 'hello.txt', content: 'hi' }]),
        /found neither oci-layout \+ index.json .* nor manifest.json/,
      ],
      [
        'a blob that does not match its name',
        async () => {
          const tarBytes = await ociArchive(busyboxGzip, 'busybox:bad');
          // Flip a byte inside the layer blob's data (it is the largest file, so far from headers).
          const corrupt = Buffer.from(tarBytes);
          const at = corrupt.indexOf(busyboxGzip.layers[0].bytes.subarray(0, 64)) + 1000;
          corrupt[at] ^= 0xff;
          return corrupt;
        },
        new RegExp(
          `'blobs/sha256/[0-9a-f]{64}' does not hash to the digest it is named after: content does not match its digest: expected sha256:`,
        ),
      ],
      [
        'a docker-save whose manifest names a missing layer',
        async () =>
          tarOf([
            { name: 'cfg.json', content: busyboxPlain.config.bytes },
            {
              name: 'manifest.json',
              content: JSON.stringify([{ Config: 'cfg.json', RepoTags: ['x:y'], Layers: ['abc/layer.tar'] }]),
            },
          ]),
        /manifest.json entry 0 lists layer 'abc\/layer.tar', which is not in the archive/,
      ],
      [
        'layers that do not match the config diff_ids',
        async () => {
          const other = await multiLayerImage(false);
          const entries = [
            { name: 'l1.tar', content: other.layers[0].bytes },
            { name: 'cfg.json', content: busyboxPlain.config.bytes },
            {
              name: 'manifest.json',
              content: JSON.stringify([{ Config: 'cfg.json', RepoTags: ['x:y'], Layers: ['l1.tar'] }]),
            },
          ];
          return tarOf(entries);
        },
        /layer 0 \(sha256:[0-9a-f]+\) is an uncompressed tar, but the config's diff_id is sha256:/,
      ],
      [
        'an index naming a manifest that is not there',
        async () => {
          const blobs = new Map([...busyboxGzip.blobs].filter(([d]) => d !== busyboxGzip.manifest.digest));
          const image = { ...busyboxGzip, blobs };
          return ociArchive(image, 'busybox:x');
        },
        /manifest sha256:[0-9a-f]{64} is not in the archive/,
      ],
    ];
    it.each(cases)('%s', async (_name, build, message) => {
      const r = await upload(await build());
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('IMAGE_ARCHIVE_INVALID');
      expect(r.body.message).toMatch(message);
      expect((await api(w, 'GET', '/images')).body.images).toEqual([]);
      expect(storeFiles()).toEqual([]);
    });
  });

  it('answers 415 for a JSON body, 404 for an unknown image, 400 for a bad reference', async () => {
    const r = await upload(Buffer.from('{}'), { type: 'application/json' });
    expect(r.status).toBe(415);
    expect(r.body.message).toMatch(/Content-Type application\/x-tar/);
    expect((await api(w, 'GET', '/images/nothing:here')).body).toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect((await api(w, 'GET', '/images/Bad%20Name')).body).toMatchObject({
      code: 'IMAGE_REFERENCE_INVALID',
    });
    expect((await api(w, 'DELETE', '/images/nothing:here')).status).toBe(404);
  });

  it('needs a token', async () => {
    expect((await upload(await ociArchive(busyboxGzip), { token: 'wrong-token-xxxxxxxxxxxx' })).status).toBe(
      401,
    );
    expect((await api(w, 'GET', '/images', { token: null })).status).toBe(401);
  });
});
