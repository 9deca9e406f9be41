/*
 * The cold-blob path of the /v2/ proxy under timing that the plain tests never produce: a
 * paced upstream (a real docker-registry behind a pass-through that sends its blob bodies at a
 * fixed rate), so clients can join a running fetch while its bytes are still in memory, after
 * they left the memory window (read back from the temp file), or leave before it ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { buildImage, BuiltImage, hexOf } from '../fixtures/images/oci-image';
import { DockerRegistry, describeWithRegistry, pushImage, startDockerRegistry } from '../utils/registry';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const suite = describeWithRegistry('registry blob-fill tests');

const MIB = 1024 * 1024;
const auth = { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` };
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Paced {
  host: string;
  /** Bytes per second for blob bodies. */
  rate: number;
  /** Digests whose body gets one byte flipped halfway through. */
  corrupt: Set<string>;
  /** Digests answered without Content-Length (chunked encoding). */
  chunked: Set<string>;
  /** Milliseconds to wait before the last 100 bytes of each body: readers catch up meanwhile. */
  stallBeforeEnd: number;
  blobGets(digest: string): number;
  close(): Promise<void>;
}

/** A pass-through to `target` that paces blob bodies (16 KiB every rate/16Ki of a second). */
async function startPaced(target: string): Promise<Paced> {
  const gets = new Map<string, number>();
  const paced = {
    rate: 8 * MIB,
    corrupt: new Set<string>(),
    chunked: new Set<string>(),
    stallBeforeEnd: 0,
  } as Paced;
  const server = http.createServer((req, res) => {
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
    if (digest && req.method === 'GET') gets.set(digest, (gets.get(digest) ?? 0) + 1);
    const headers = { ...req.headers };
    delete headers.host;
    const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers }, (upRes) => {
      const out = { ...upRes.headers };
      if (!digest || req.method !== 'GET' || upRes.statusCode !== 200) {
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
        return;
      }
      if (paced.chunked.has(digest)) delete out['content-length'];
      res.writeHead(200, out);
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(chunks);
        if (paced.corrupt.has(digest)) body[body.length >> 1] ^= 0xff;
        const step = 16 * 1024;
        const every = Math.max(1, Math.round((1000 * step) / paced.rate));
        let off = 0;
        const tail = body.length - 100;
        const tick = () => {
          if (res.destroyed) return;
          // Several steps per timer tick: timers fire no faster than ~1 ms.
          for (let i = 0; i < 4 && off < tail; i++) {
            const next = Math.min(off + step, tail);
            res.write(body.subarray(off, next));
            off = next;
          }
          if (off < tail) setTimeout(tick, every * 4);
          // Chunked: all the bytes, then (later) the terminating chunk; else the last bytes later.
          else if (paced.chunked.has(digest)) {
            res.write(body.subarray(tail));
            setTimeout(() => res.end(), paced.stallBeforeEnd);
          } else setTimeout(() => res.end(body.subarray(tail)), paced.stallBeforeEnd);
        };
        tick();
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  paced.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  paced.blobGets = (digest) => gets.get(digest) ?? 0;
  paced.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return paced;
}

interface Pull {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  sha256: string;
  body: Buffer;
  /** Set when the response ended short or with an error. */
  error?: string;
  /** Resolves once this many bytes arrived (or the response ended). */
  reached(n: number): Promise<void>;
  done: Promise<Pull>;
  abort(): void;
}

/** A blob GET that can be watched while it runs; `pauseMs` stops reading for a while after 1 MiB. */
function pull(w: TestWarden, p: string, extra: Record<string, string> = {}, opts: { pauseMs?: number } = {}) {
  const result = { status: 0, headers: {}, bytes: 0, sha256: '', body: Buffer.alloc(0) } as unknown as Pull;
  const waits: Array<{ n: number; resolve: () => void }> = [];
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let req: http.ClientRequest;
  result.done = new Promise<Pull>((resolve) => {
    let finished = false;
    const finish = (error?: string) => {
      if (finished) return;
      finished = true;
      result.sha256 = `sha256:${hash.digest('hex')}`;
      result.body = Buffer.concat(chunks);
      const expected = Number(result.headers['content-length'] ?? NaN);
      if (!error && Number.isFinite(expected) && expected !== result.bytes) error = 'short body';
      result.error = error;
      for (const w of waits) w.resolve();
      resolve(result);
    };
    req = http.get(`${w.url}${p}`, { headers: { ...auth, ...extra } }, (res) => {
      result.status = res.statusCode ?? 0;
      result.headers = res.headers;
      let paused = false;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        chunks.push(c);
        result.bytes += c.length;
        for (const x of waits.filter((x) => result.bytes >= x.n)) x.resolve();
        if (opts.pauseMs && !paused && result.bytes >= MIB) {
          paused = true;
          res.pause();
          setTimeout(() => res.resume(), opts.pauseMs);
        }
      });
      res.on('end', () => finish(res.complete ? undefined : 'incomplete'));
      res.on('error', (err) => finish(err.message));
      res.on('aborted', () => finish('aborted'));
    });
    req.on('error', (err) => finish(err.message));
  });
  result.reached = (n) =>
    result.bytes >= n ? Promise.resolve() : new Promise<void>((resolve) => waits.push({ n, resolve }));
  result.abort = () => req.destroy();
  return result;
}

suite('registry proxy: one upstream fetch, readers in memory and from the temp file', () => {
  let upstream: DockerRegistry;
  let paced: Paced;
  let w: TestWarden;
  const images: Record<string, BuiltImage> = {};
  const image = (name: string, bytes: number) =>
    (images[name] = buildImage({ layers: [randomBytes(bytes)] }));
  const stored = (digest: string) => path.join(w.dataDir, 'store', 'blobs', 'sha256', hexOf(digest));
  const blobPath = (name: string) =>
    `/v2/local/app/${name.toLowerCase()}/blobs/${images[name].layers[0].digest}`;

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    image('joiners', 40 * MIB);
    image('corrupt', 24 * MIB);
    image('chunked', 6 * MIB + 123);
    image('chunkedCorrupt', 3 * MIB + 5);
    image('leaver', 16 * MIB);
    for (let i = 0; i < 6; i++) image(`many${i}`, 5 * MIB + i * 4099);
    for (const [name, img] of Object.entries(images))
      await pushImage(upstream.url, `app/${name.toLowerCase()}`, '1', img);
    paced = await startPaced(upstream.url);
    w = await startTestWarden('up', { WARDEN_REGISTRY_UPSTREAMS: `local=http+insecure://${paced.host}` });
  });
  afterAll(async () => {
    await w?.close();
    await paced?.close();
    await upstream?.stop();
  });

  it('early, late and slow readers and a range all get the exact bytes of one upstream fetch', async () => {
    const { digest, bytes } = images.joiners.layers[0];
    paced.rate = 16 * MIB;
    const first = pull(w, blobPath('joiners'));
    // Past the 8 MiB memory window: this one starts from the temp file and catches up.
    await first.reached(14 * MIB);
    const late = pull(w, blobPath('joiners'));
    const slow = pull(w, blobPath('joiners'), {}, { pauseMs: 1500 });
    const range = pull(w, blobPath('joiners'), { range: `bytes=${5 * MIB}-${30 * MIB + 6}` });
    await first.reached(30 * MIB);
    const last = pull(w, blobPath('joiners'));
    const all = await Promise.all([first, late, slow, last].map((p) => p.done));
    for (const r of all)
      expect([r.status, r.error, r.bytes, r.sha256]).toEqual([200, undefined, bytes.length, digest]);
    const r = await range.done;
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${5 * MIB}-${30 * MIB + 6}/${bytes.length}`);
    expect(r.body.equals(bytes.subarray(5 * MIB, 30 * MIB + 7))).toBe(true);
    expect(paced.blobGets(digest)).toBe(1);
    await eventually('blob stored', async () => fs.existsSync(stored(digest)));
    expect(sha256(fs.readFileSync(stored(digest)))).toBe(digest);
  });

  it('a corrupt upstream blob cuts every reader short, early or late, and stores nothing', async () => {
    const { digest, bytes } = images.corrupt.layers[0];
    paced.rate = 16 * MIB;
    paced.corrupt.add(digest);
    // Every reader has all it may have before the blob can be verified: the last byte must wait.
    paced.stallBeforeEnd = 500;
    const first = pull(w, blobPath('corrupt'));
    await first.reached(12 * MIB);
    const late = pull(w, blobPath('corrupt'));
    await first.reached(20 * MIB);
    const last = pull(w, blobPath('corrupt'));
    for (const r of await Promise.all([first, late, last].map((p) => p.done))) {
      expect(r.status).toBe(200);
      expect(r.error).toBeDefined();
      expect(r.bytes).toBeLessThan(bytes.length);
    }
    expect(fs.existsSync(stored(digest))).toBe(false);
    await eventually('corrupt fetch audited', async () =>
      (await api(w, 'GET', '/audit/events?type=image.pulled&limit=500')).body.events.find(
        (x: { payload: { digest?: string; outcome?: string; cache?: string } }) =>
          x.payload.digest === digest &&
          x.payload.outcome === 'failed' &&
          x.payload.cache === 'corrupt-upstream',
      ),
    );
    paced.corrupt.delete(digest);
    paced.stallBeforeEnd = 0;
    const again = await pull(w, blobPath('corrupt')).done;
    expect([again.error, again.sha256]).toEqual([undefined, digest]);
  });

  it('an upstream answer without Content-Length is verified before its last byte is served', async () => {
    const { digest, bytes } = images.chunked.layers[0];
    paced.rate = 32 * MIB;
    paced.chunked.add(digest);
    const a = pull(w, blobPath('chunked'));
    await a.reached(2 * MIB);
    const b = pull(w, blobPath('chunked'));
    for (const r of await Promise.all([a.done, b.done])) {
      expect([r.status, r.error, r.bytes, r.sha256]).toEqual([200, undefined, bytes.length, digest]);
      expect(r.headers['content-length']).toBeUndefined();
    }
    await eventually('chunked blob stored', async () => fs.existsSync(stored(digest)));

    // The end of a chunked body is known only from its last chunk: every byte may be with the
    // readers by then, so it is the held-back byte that keeps a corrupt copy incomplete.
    const bad = images.chunkedCorrupt.layers[0];
    paced.chunked.add(bad.digest);
    paced.corrupt.add(bad.digest);
    paced.stallBeforeEnd = 500;
    const c = pull(w, blobPath('chunkedCorrupt'));
    await c.reached(bad.bytes.length - 1);
    const d = pull(w, blobPath('chunkedCorrupt'));
    for (const r of await Promise.all([c.done, d.done])) {
      expect(r.error).toBeDefined();
      expect(r.bytes).toBe(bad.bytes.length - 1);
    }
    paced.stallBeforeEnd = 0;
    expect(fs.existsSync(stored(bad.digest))).toBe(false);
    const warm = await pull(w, blobPath('chunked')).done;
    expect([warm.headers['content-length'], warm.sha256]).toEqual([String(bytes.length), digest]);
  });

  it('the fetch finishes and stores the blob after its only client left; the aborted pull is audited', async () => {
    const { digest } = images.leaver.layers[0];
    paced.rate = 16 * MIB;
    const p = pull(w, blobPath('leaver'));
    await p.reached(2 * MIB);
    p.abort();
    await p.done;
    await eventually('blob stored without a client', async () => fs.existsSync(stored(digest)), 20000);
    expect(sha256(fs.readFileSync(stored(digest)))).toBe(digest);
    expect(paced.blobGets(digest)).toBe(1);
    const aborted = await eventually('aborted pull audited', async () =>
      (await api(w, 'GET', '/audit/events?type=image.pulled&limit=500')).body.events.find(
        (e: { payload: { digest?: string; outcome?: string } }) =>
          e.payload.digest === digest && e.payload.outcome === 'aborted',
      ),
    );
    expect(aborted.payload.bytes).toBeGreaterThanOrEqual(2 * MIB);
  });

  it('many concurrent fills (their read buffers reused from one pool) serve and store exact bytes', async () => {
    paced.rate = 64 * MIB;
    const names = Object.keys(images).filter((n) => n.startsWith('many'));
    const pulls = names.flatMap((n) => [pull(w, blobPath(n)), pull(w, blobPath(n))]);
    const done = await Promise.all(pulls.map((p) => p.done));
    names.forEach((n, i) => {
      const { digest, bytes } = images[n].layers[0];
      for (const r of [done[2 * i], done[2 * i + 1]])
        expect([r.error, r.bytes, r.sha256]).toEqual([undefined, bytes.length, digest]);
    });
    for (const n of names) {
      const { digest, bytes } = images[n].layers[0];
      await eventually(`${n} stored`, async () => fs.existsSync(stored(digest)));
      expect(sha256(fs.readFileSync(stored(digest)))).toBe(digest);
      // Warm, with ranges: the store's reader with its reused buffers.
      const tail = await pull(w, blobPath(n), { range: 'bytes=-70000' }).done;
      expect(tail.body.equals(bytes.subarray(bytes.length - 70000))).toBe(true);
      const whole = await pull(w, blobPath(n)).done;
      expect(whole.sha256).toBe(digest);
    }
  });
});
