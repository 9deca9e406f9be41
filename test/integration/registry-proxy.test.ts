import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { busyboxImage } from '../fixtures/images/fixture-images';
import { buildImage, BuiltImage, hexOf } from '../fixtures/images/oci-image';
import {
  DockerRegistry,
  Front,
  describeWithRegistry,
  pushImage,
  skopeoCopy,
  startDockerRegistry,
  startFront,
} from '../utils/registry';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const suite = describeWithRegistry('registry-proxy tests', { skopeo: true });

const BIG = 64 * 1024 * 1024;
const basic = (token: string) => `Basic ${Buffer.from(`x:${token}`).toString('base64')}`;

/** A raw request: fetch() would resolve '..' and re-encode the path before sending it. */
function raw(
  w: { url: string },
  method: string,
  p: string,
  headers: Record<string, string> = { authorization: basic(ADMIN_TOKEN) },
): Promise<{
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  sha256: string;
  error?: Error;
}> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${w.url}${p}`, { method, headers, path: p }, (res) => {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
        if (size < 1024 * 1024) chunks.push(c);
      });
      const done = (error?: Error) =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          sha256: `sha256:${hash.digest('hex')}`,
          error,
        });
      res.on('end', () => done());
      res.on('error', (err) => done(err));
    });
    req.on('error', reject);
    req.end();
  });
}

const ociJson = (r: { body: Buffer }) =>
  JSON.parse(r.body.toString()) as { errors: Array<{ code: string; message: string }> };

function randomImage(bytes: number): BuiltImage {
  return buildImage({ layers: [randomBytes(bytes)] });
}

suite('registry proxy (/v2/) against a real docker-registry upstream', () => {
  let upstream: DockerRegistry;
  let front: Front;
  let tokenFront: Front;
  let w: TestWarden;
  let busybox: BuiltImage;
  const big = randomImage(BIG);
  const corrupt = randomImage(4 * 1024 * 1024);
  const uncached = randomImage(1024);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-registry-test-'));

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    // gzip layers: skopeo compresses uncompressed layers when writing an oci layout, which
    // would give the copy a new manifest digest; compressed ones it copies as they are.
    busybox = await busyboxImage({ gzip: true });
    await pushImage(upstream.url, 'app/busybox', '1', busybox);
    await pushImage(upstream.url, 'app/big', '1', big);
    await pushImage(upstream.url, 'app/corrupt', '1', corrupt);
    await pushImage(upstream.url, 'app/uncached', '1', uncached);
    await pushImage(upstream.url, 'secret/thing', '1', uncached);
    front = await startFront(upstream.url);
    tokenFront = await startFront(upstream.url, { token: { username: 'puller', password: 's3cret' } });
    w = await startTestWarden('up', {
      WARDEN_REGISTRY_UPSTREAMS: `local=http+insecure://${front.host},tok=http+insecure://puller:s3cret@${tokenFront.host}`,
      // Every tag request re-checks upstream (HEAD), so outages exercise the stale path.
      WARDEN_REGISTRY_TAG_TTL: '0',
    });
  });
  afterAll(async () => {
    await w?.close();
    await front?.close();
    await tokenFront?.close();
    await upstream?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const wardenHost = () => new URL(w.url).host;

  it('GET /v2/ challenges without credentials and the token flow admits a Warden token', async () => {
    const none = await raw(w, 'GET', '/v2/', {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe(
      `Bearer realm="http://${wardenHost()}/v2/token",service="warden"`,
    );
    expect(ociJson(none).errors[0].code).toBe('UNAUTHORIZED');
    const bad = await raw(w, 'GET', '/v2/', { authorization: basic('wdn_nope') });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/error="invalid_token"/);

    const tok = await raw(w, 'GET', '/v2/token?service=warden&scope=repository:local/app/busybox:pull');
    expect(tok.status).toBe(200);
    const body = JSON.parse(tok.body.toString());
    expect(body).toMatchObject({
      token: expect.any(String),
      access_token: body.token,
      expires_in: expect.any(Number),
    });
    const ok = await raw(w, 'GET', '/v2/', { authorization: `Bearer ${body.token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('skopeo copies an image through the proxy; a second copy touches no upstream GET', async () => {
    const src = `${wardenHost()}/local/app/busybox:1`;
    await skopeoCopy(src, path.join(tmp, 'one'), `x:${ADMIN_TOKEN}`);
    const index = JSON.parse(fs.readFileSync(path.join(tmp, 'one', 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(busybox.manifest.digest);
    for (const blob of [busybox.config, ...busybox.layers])
      expect(fs.existsSync(path.join(tmp, 'one', 'blobs', 'sha256', hexOf(blob.digest)))).toBe(true);
    const gets = front.count('GET', '/v2/');
    expect(gets).toBeGreaterThan(0);

    await skopeoCopy(src, path.join(tmp, 'two'), `x:${ADMIN_TOKEN}`);
    expect(front.count('GET', '/v2/')).toBe(gets);
    // By digest, not even a HEAD: digests are never re-checked.
    const heads = front.count('HEAD', '/v2/');
    const byDigest = await raw(w, 'GET', `/v2/local/app/busybox/manifests/${busybox.manifest.digest}`);
    expect(byDigest.status).toBe(200);
    expect(byDigest.headers['docker-content-digest']).toBe(busybox.manifest.digest);
    expect(front.count('HEAD', '/v2/')).toBe(heads);

    const pulled = await eventually('image.pulled events', async () => {
      const r = await api(w, 'GET', '/audit/events?type=image.pulled&limit=200');
      return r.body.events.length >= 4 ? r.body.events : undefined;
    });
    expect(pulled).toContainEqual(
      expect.objectContaining({
        principal: 'admin',
        decision: 'allowed',
        payload: expect.objectContaining({
          upstream: 'local',
          repository: 'local/app/busybox',
          reference: '1',
          digest: busybox.manifest.digest,
          bytes: busybox.manifest.bytes.length,
        }),
      }),
    );
  });

  it('20 concurrent pulls of one cold 64 MiB blob make exactly one upstream fetch, each verified', async () => {
    const digest = big.layers[0].digest;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => raw(w, 'GET', `/v2/local/app/big/blobs/${digest}`)),
    );
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.sha256).toBe(digest);
    }
    expect(front.count('GET', `/blobs/${digest}`)).toBe(1);

    const ranged = await raw(w, 'GET', `/v2/local/app/big/blobs/${digest}`, {
      authorization: basic(ADMIN_TOKEN),
      range: 'bytes=10-19',
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 10-19/${BIG}`);
    expect(ranged.body).toEqual(big.layers[0].bytes.subarray(10, 20));
    const outside = await raw(w, 'GET', `/v2/local/app/big/blobs/${digest}`, {
      authorization: basic(ADMIN_TOKEN),
      range: `bytes=${BIG}-`,
    });
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe(`bytes */${BIG}`);
  });

  it('a corrupted upstream blob: the client gets a short body, nothing is cached, the event is audited', async () => {
    const digest = corrupt.layers[0].digest;
    front.corrupt.add(digest);
    const r = await raw(w, 'GET', `/v2/local/app/corrupt/blobs/${digest}`);
    expect(r.status).toBe(200);
    expect(r.sha256).not.toBe(digest);
    expect(r.error ?? 'short').toBeTruthy();
    expect(fs.existsSync(path.join(w.dataDir, 'store', 'blobs', 'sha256', hexOf(digest)))).toBe(false);
    await eventually('corrupt blob audited', async () => {
      const events = (await api(w, 'GET', '/audit/events?type=image.pulled&limit=500')).body.events;
      return events.find(
        (e: { payload: { digest?: string; outcome?: string } }) =>
          e.payload.digest === digest && e.payload.outcome === 'failed',
      );
    });
    front.corrupt.delete(digest);
    const again = await raw(w, 'GET', `/v2/local/app/corrupt/blobs/${digest}`);
    expect(again.sha256).toBe(digest);
  });

  it('bad names, tags and digests answer 400 with OCI codes; push answers 405', async () => {
    const cases: Array<[string, number, string]> = [
      ['/v2/local/../etc/manifests/1', 400, 'NAME_INVALID'],
      ['/v2/local/app%2fbusybox/manifests/1', 400, 'NAME_INVALID'],
      [`/v2/local/${'a'.repeat(300)}/manifests/1`, 400, 'NAME_INVALID'],
      ['/v2/local/App/manifests/1', 400, 'NAME_INVALID'],
      ['/v2/local/app/busybox/manifests/-bad', 400, 'TAG_INVALID'],
      ['/v2/local/app/busybox/manifests/sha256:xyz', 400, 'DIGEST_INVALID'],
      ['/v2/local/app/busybox/blobs/sha256:1234', 400, 'DIGEST_INVALID'],
      ['/v2/nowhere/app/manifests/1', 404, 'NAME_UNKNOWN'],
      ['/v2/local/app/busybox/manifests/nope', 404, 'MANIFEST_UNKNOWN'],
      [`/v2/local/app/busybox/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
    ];
    for (const [p, status, code] of cases) {
      const r = await raw(w, 'GET', p);
      expect([p, r.status, ociJson(r).errors[0].code]).toEqual([p, status, code]);
    }
    const push = await raw(w, 'POST', '/v2/local/app/busybox/blobs/uploads/');
    expect([push.status, ociJson(push).errors[0].code]).toEqual([405, 'UNSUPPORTED']);
    const del = await raw(w, 'DELETE', `/v2/local/app/busybox/manifests/${busybox.manifest.digest}`);
    expect([del.status, ociJson(del).errors[0].code]).toEqual([405, 'UNSUPPORTED']);
  });

  it('tags/list answers in client names', async () => {
    const r = await raw(w, 'GET', '/v2/local/app/busybox/tags/list');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ name: 'local/app/busybox', tags: ['1'] });
  });

  it('a repository the policy does not allow answers 403 DENIED with the reason, audited', async () => {
    await api(w, 'POST', '/principals', { body: { id: 'dev', role: 'deployer' } });
    const token = (await api(w, 'POST', '/tokens', { body: { principalId: 'dev', name: 'pull' } })).body
      .token;
    const created = await api(w, 'POST', '/policies', {
      body: {
        name: 'apps-only',
        mode: 'enforce',
        rules: { images: { allowedRegistries: [`${front.host}/app`] } },
      },
    });
    await api(w, 'POST', '/policies/apps-only/activate', { body: { versionId: created.body.id } });
    await api(w, 'POST', '/policies/apps-only/bindings', { body: { kind: 'principal', value: 'dev' } });

    const allowed = await raw(w, 'GET', '/v2/local/app/busybox/manifests/1', { authorization: basic(token) });
    expect(allowed.status).toBe(200);
    const denied = await raw(w, 'GET', '/v2/local/secret/thing/manifests/1', { authorization: basic(token) });
    expect(denied.status).toBe(403);
    const err = ociJson(denied).errors[0];
    expect(err.code).toBe('DENIED');
    expect(err.message).toMatch(/apps-only.*not from an allowed registry.*images\.allowedRegistries/);
    const blob = await raw(w, 'GET', `/v2/local/secret/thing/blobs/${uncached.layers[0].digest}`, {
      authorization: basic(token),
    });
    expect(blob.status).toBe(403);
    expect(front.count('GET', '/secret/')).toBe(0);
    await eventually('denied pull audited', async () => {
      const events = (await api(w, 'GET', '/audit/events?type=image.pulled&limit=500')).body.events;
      return events.find(
        (e: { principal: string; decision: string; payload: { repository: string } }) =>
          e.principal === 'dev' && e.decision === 'denied' && e.payload.repository === 'local/secret/thing',
      );
    });
  });

  it('a token-protected upstream is pulled through, one token per scope', async () => {
    await skopeoCopy(`${wardenHost()}/tok/app/busybox:1`, path.join(tmp, 'tok'), `x:${ADMIN_TOKEN}`);
    const index = JSON.parse(fs.readFileSync(path.join(tmp, 'tok', 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(busybox.manifest.digest);
    expect(tokenFront.tokenRequests).toBe(1);
  });

  it('upstream down: cached content is still served; uncached answers 503 without upstream details', async () => {
    await front.down();
    try {
      await skopeoCopy(`${wardenHost()}/local/app/busybox:1`, path.join(tmp, 'down'), `x:${ADMIN_TOKEN}`);
      const index = JSON.parse(fs.readFileSync(path.join(tmp, 'down', 'index.json'), 'utf8'));
      expect(index.manifests[0].digest).toBe(busybox.manifest.digest);
      const r = await raw(w, 'GET', `/v2/local/app/uncached/blobs/${uncached.layers[0].digest}`);
      expect(r.status).toBe(503);
      const err = ociJson(r).errors[0];
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(/upstream 'local' is unreachable/);
      expect(r.body.toString()).not.toContain(front.host);
      const m = await raw(w, 'GET', '/v2/local/app/uncached/manifests/1');
      expect(m.status).toBe(503);
    } finally {
      await front.up();
    }
  });
});
