import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageCommand } from '../../src/cli/image.command';
import type { WardenConfig } from '../../src/platform/config';
import { busyboxImage } from '../fixtures/images/fixture-images';
import { buildImage, BuiltImage, goArch, hexOf, OCI_INDEX, sha256 } from '../fixtures/images/oci-image';
import {
  DockerRegistry,
  Front,
  describeWithRegistry,
  pushImage,
  startDockerRegistry,
  startFront,
} from '../utils/registry';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const suite = describeWithRegistry('image-pull tests');
const isRoot = process.getuid?.() === 0;

/** An index with this host's image and one for another platform, as multi-arch tags are. */
async function pushIndex(url: string, repo: string, tag: string, mine: BuiltImage, other: BuiltImage) {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { ...desc(other), platform: { os: 'linux', architecture: 's390x' } },
        { ...desc(mine), platform: { os: 'linux', architecture: goArch() } },
      ],
    }),
  );
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_INDEX },
    body,
  });
  if (res.status !== 201) throw new Error(`index: ${res.status} ${await res.text()}`);
  return sha256(body);
}
const desc = (i: BuiltImage) => ({
  mediaType: i.manifest.mediaType,
  digest: i.manifest.digest,
  size: i.manifest.bytes.length,
});

/** POST /images/pull?stream=true, as NDJSON messages. */
async function pullStream(w: { url: string }, reference: string) {
  const res = await fetch(`${w.url}/images/pull?stream=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reference }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    messages: text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

suite('image pull into the local store, against a real docker-registry upstream', () => {
  let upstream: DockerRegistry;
  let front: Front;
  let w: TestWarden;
  let busybox: BuiltImage;
  const twoLayers = buildImage({ layers: [randomBytes(300_000), randomBytes(200_000)] });
  const s390 = buildImage({ layers: [randomBytes(1000)] });
  const secret = buildImage({ layers: [randomBytes(2000)] });
  const proxyOnly = buildImage({ layers: [randomBytes(3000)] });
  let indexDigest: string;
  const store = (digest: string) => path.join(w.dataDir, 'store', 'blobs', 'sha256', hexOf(digest));

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    busybox = await busyboxImage({ gzip: true });
    await pushImage(upstream.url, 'app/busybox', '1', busybox);
    await pushImage(upstream.url, 'app/two', '1', twoLayers);
    await pushImage(upstream.url, 'app/two', 's390', s390);
    indexDigest = await pushIndex(upstream.url, 'app/two', 'multi', twoLayers, s390);
    await pushImage(upstream.url, 'secret/thing', '1', secret);
    await pushImage(upstream.url, 'app/cached', '1', proxyOnly);
    front = await startFront(upstream.url);
    w = await startTestWarden('up', {
      WARDEN_REGISTRY_UPSTREAMS: `local=http+insecure://${front.host}`,
      WARDEN_CGROUP_PARENT: `warden-test-${process.pid}`,
    });
  });
  afterAll(async () => {
    await w?.close();
    await front?.close();
    await upstream?.stop();
  });

  it('pulls by the registry name policy sees; the image is listed and resolves under that name', async () => {
    const r = await api(w, 'POST', '/images/pull', { body: { reference: `${front.host}/app/busybox:1` } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      digest: busybox.manifest.digest,
      reference: `${front.host}/app/busybox:1`,
      status: 'downloaded',
      layers: 1,
      upstream: 'local',
    });
    expect(r.body.bytes).toBeGreaterThan(busybox.layers[0].bytes.length);
    const listed = (await api(w, 'GET', '/images')).body.images;
    expect(listed.map((i: { digest: string }) => i.digest)).toContain(busybox.manifest.digest);
    const inspect = await api(w, 'GET', `/images/${encodeURIComponent(`${front.host}/app/busybox:1`)}`);
    expect(inspect.status).toBe(200);
    expect(inspect.body.tags).toEqual([{ registry: front.host, repository: 'app/busybox', tag: '1' }]);
    for (const d of [busybox.manifest.digest, busybox.config.digest, busybox.layers[0].digest])
      expect(fs.existsSync(store(d))).toBe(true);
    const event = await eventually('image.pulled audited', async () => {
      const events = (await api(w, 'GET', '/audit/events?type=image.pulled&limit=200')).body.events;
      return events.find(
        (e: any) => e.payload.kind === 'image' && e.payload.digest === busybox.manifest.digest,
      );
    });
    expect(event).toMatchObject({
      principal: 'admin',
      decision: 'allowed',
      payload: { upstream: 'local', repository: 'local/app/busybox', reference: '1', outcome: 'complete' },
    });
    expect(event.payload.bytes).toBe(r.body.bytes);
  });

  it('streams docker-shaped progress; an index resolves to this platform; a second pull is up to date without blob GETs', async () => {
    const first = await pullStream(w, 'local/app/two:multi');
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/application\/x-ndjson/);
    const statuses = first.messages.map((m) => (m.id ? `${m.id}: ${m.status}` : m.status));
    const ids = twoLayers.layers.map((l) => hexOf(l.digest).slice(0, 12));
    expect(statuses[0]).toBe('multi: Pulling from app/two');
    for (const id of ids) {
      expect(statuses).toContain(`${id}: Pulling fs layer`);
      expect(statuses).toContain(`${id}: Download complete`);
      expect(statuses).toContain(`${id}: Pull complete`);
    }
    expect(statuses).toContain(`Digest: ${twoLayers.manifest.digest}`);
    expect(statuses).toContain(`Status: Downloaded newer image for ${front.host}/app/two:multi`);
    const result = first.messages.at(-1)!.result;
    expect(result).toMatchObject({ digest: twoLayers.manifest.digest, layers: 2 });
    expect(fs.existsSync(store(s390.layers[0].digest))).toBe(false); // the other platform's layers stay upstream
    expect(fs.existsSync(store(indexDigest))).toBe(true);

    const blobGets = front.count('GET', '/blobs/');
    const again = await pullStream(w, 'local/app/two:multi');
    expect(again.messages.map((m) => m.status)).toContain(
      `Status: Image is up to date for ${front.host}/app/two:multi`,
    );
    expect(again.messages.filter((m) => m.status === 'Already exists')).toHaveLength(2);
    expect(again.messages.at(-1)!.result).toMatchObject({ status: 'up-to-date', bytes: 0 });
    expect(front.count('GET', '/blobs/')).toBe(blobGets);
  });

  it('a denied repository answers 403 with the policy reason, is audited, and stores nothing', async () => {
    await api(w, 'POST', '/principals', { body: { id: 'dev', role: 'deployer' } });
    const token = (await api(w, 'POST', '/tokens', { body: { principalId: 'dev', name: 'pull' } })).body
      .token;
    const created = await api(w, 'POST', '/policies', {
      body: {
        name: 'apps-only',
        mode: 'enforce',
        rules: { images: { allowedRegistries: [`${front.host}/app`, ''] } },
      },
    });
    await api(w, 'POST', '/policies/apps-only/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/apps-only/bindings', { body: { kind: 'principal', value: 'dev' } });

    const denied = await api(w, 'POST', '/images/pull', {
      token,
      body: { reference: 'local/secret/thing:1' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/apps-only.*not from an allowed registry.*images\.allowedRegistries/);
    expect(front.count('GET', '/secret/')).toBe(0);
    for (const d of [secret.manifest.digest, secret.config.digest, secret.layers[0].digest])
      expect(fs.existsSync(store(d))).toBe(false);
    await eventually('denied pull audited', async () => {
      const events = (await api(w, 'GET', '/audit/events?type=image.pulled&limit=500')).body.events;
      return events.find(
        (e: any) =>
          e.principal === 'dev' && e.decision === 'denied' && e.payload.repository === 'local/secret/thing',
      );
    });
    // Streaming changes nothing for a refusal: no progress has been sent yet, so it is a 403.
    const res = await fetch(`${w.url}/images/pull?stream=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reference: `${front.host}/secret/thing:1` }),
    });
    expect(res.status).toBe(403);
    // An unknown upstream says what is configured.
    const unknown = await api(w, 'POST', '/images/pull', { body: { reference: 'nowhere.example:5000/x:1' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/no configured upstream serves .*local \(127\.0\.0\.1:\d+\)/);
  });

  it('prune frees blobs no image references and keeps referenced ones; --older-than keeps recent ones', async () => {
    // Cached by the /v2/ proxy only: no image row references these.
    const auth = `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}`;
    for (const p of ['manifests/1', `blobs/${proxyOnly.layers[0].digest}`]) {
      const r = await fetch(`${w.url}/v2/local/app/cached/${p}`, { headers: { authorization: auth } });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    await eventually('proxied blob stored', async () => fs.existsSync(store(proxyOnly.layers[0].digest)));

    const recent = await api(w, 'POST', '/images/prune', { body: { olderThanDays: 1 } });
    expect(recent.status).toBe(200);
    expect(recent.body.blobs.removed).toEqual([]);
    expect(recent.body.keptRecent).toBeGreaterThanOrEqual(2);

    const all = await api(w, 'POST', '/images/prune', { body: {} });
    expect(all.status).toBe(200);
    expect(all.body.blobs.removed).toEqual(
      expect.arrayContaining([proxyOnly.manifest.digest, proxyOnly.layers[0].digest, indexDigest]),
    );
    expect(all.body.blobs.bytes).toBeGreaterThanOrEqual(proxyOnly.layers[0].bytes.length);
    expect(fs.existsSync(store(proxyOnly.layers[0].digest))).toBe(false);
    for (const d of [
      busybox.manifest.digest,
      busybox.layers[0].digest,
      ...twoLayers.layers.map((l) => l.digest),
    ])
      expect(fs.existsSync(store(d))).toBe(true);
    // The tag's index went with the prune; pulling again fetches only it, not the layers.
    const blobGets = front.count('GET', '/blobs/');
    const again = await api(w, 'POST', '/images/pull', { body: { reference: 'local/app/two:multi' } });
    expect(again.body.status).toBe('up-to-date');
    expect(front.count('GET', '/blobs/')).toBe(blobGets);
  });

  const privileged = isRoot ? it : it.skip;
  privileged('a launch of an image that is not here pulls it (policy permitting) and runs it', async () => {
    const image = `local/app/busybox:1`;
    await api(w, 'DELETE', `/images/${encodeURIComponent(`${front.host}/app/busybox:1`)}`);
    expect((await api(w, 'GET', `/images/${encodeURIComponent(`${front.host}/app/busybox:1`)}`)).status).toBe(
      404,
    );

    const created = await api(w, 'POST', '/containers', {
      body: { image, cmd: ['sh', '-c', 'echo pulled'] },
    });
    expect(created.status).toBe(201);
    expect(created.body.image).toBe(`${front.host}/app/busybox:1`);
    const id = created.body.id as string;
    const waited = api(w, 'POST', `/containers/${id}/wait?condition=next-exit`);
    expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);
    expect((await waited).body.statusCode).toBe(0);
    const logs = await api(w, 'GET', `/containers/${id}/logs`);
    expect(JSON.stringify(logs.body)).toContain('pulled');

    // The cached copy is found only under its origin's name: for 'dev', whose policy admits
    // local images and ${front.host}/app, a launch under another name must pull (and is denied).
    const token = (await api(w, 'POST', '/tokens', { body: { principalId: 'dev', name: 'run' } })).body.token;
    const byDigest = await api(w, 'POST', '/containers', {
      token,
      body: { image: `app/busybox@${busybox.manifest.digest}`, cmd: ['true'] },
    });
    expect(byDigest.status).toBe(404);
    const bare = await api(w, 'POST', '/containers', {
      token,
      body: { image: busybox.manifest.digest, cmd: ['true'] },
    });
    expect(bare.status).toBe(404);
    expect(bare.body.message).toMatch(/pulled from a registry; launch it by a name it was pulled as/);
    const secretRun = await api(w, 'POST', '/containers', { token, body: { image: 'local/secret/thing:1' } });
    expect(secretRun.status).toBe(403);
    expect(front.count('GET', '/secret/')).toBe(0);

    // Unpacked layers stay while an image (hence a container) uses them, and go after.
    const layerDir = path.join(w.dataDir, 'layers', hexOf(busybox.diffIds[0]));
    expect(fs.existsSync(layerDir)).toBe(true);
    const kept = await api(w, 'POST', '/images/prune', { body: {} });
    expect(kept.body.layers.removed).toEqual([]);
    expect(fs.existsSync(layerDir)).toBe(true);
    expect((await api(w, 'DELETE', `/containers/${id}`)).status).toBe(204);
    expect((await api(w, 'DELETE', `/images/${busybox.manifest.digest}`)).status).toBe(200);
    const freed = await api(w, 'POST', '/images/prune', { body: {} });
    expect(freed.body.layers.removed).toEqual([busybox.diffIds[0]]);
    expect(freed.body.layers.bytes).toBeGreaterThan(100_000);
    expect(fs.existsSync(layerDir)).toBe(false);
    expect(fs.existsSync(`${layerDir}.json`)).toBe(false);
  });

  it('warden image pull prints docker-style progress; warden image prune reports what it freed', async () => {
    const lines: string[] = [];
    const run = (args: string[]) =>
      imageCommand(
        [...args, '--url', w.url, '--token', ADMIN_TOKEN],
        { dataDir: w.dataDir, http: { host: '127.0.0.1', port: 0, tls: { mode: 'auto' } } } as WardenConfig,
        (s) => lines.push(s),
      );
    await run(['pull', 'local/app/cached:1']);
    const id = hexOf(proxyOnly.layers[0].digest).slice(0, 12);
    expect(lines.join('')).toBe(
      [
        '1: Pulling from app/cached',
        `${id}: Pulling fs layer`,
        `${id}: Downloading 3.0kB/3.0kB`,
        `${id}: Download complete`,
        `${id}: Pull complete`,
        `Digest: ${proxyOnly.manifest.digest}`,
        `Status: Downloaded newer image for ${front.host}/app/cached:1`,
        '',
      ].join('\n'),
    );
    lines.length = 0;
    const dev = (await api(w, 'POST', '/tokens', { body: { principalId: 'dev', name: 'cli' } })).body.token;
    const cfg = {
      dataDir: w.dataDir,
      http: { host: '127.0.0.1', port: 0, tls: { mode: 'auto' } },
    } as WardenConfig;
    await expect(
      imageCommand(['pull', 'local/secret/thing:1', '--url', w.url, '--token', dev], cfg, () => undefined),
    ).rejects.toThrow(/denied by policy 'apps-only'/);
    // A blob only the /v2/ proxy cached (image removal already deletes an image's own blobs).
    const auth = `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}`;
    const r = await fetch(`${w.url}/v2/local/app/two/blobs/${s390.layers[0].digest}`, {
      headers: { authorization: auth },
    });
    await r.arrayBuffer();
    await eventually('proxied blob stored', async () => fs.existsSync(store(s390.layers[0].digest)));
    await run(['prune']);
    expect(lines.at(-1)).toMatch(/^Total reclaimed space: \d/);
    expect(lines.join('')).toContain(`Deleted blob: ${s390.layers[0].digest}\n`);
  });
});
