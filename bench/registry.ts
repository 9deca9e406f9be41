/**
 * Claim (issue 5): Warden's /v2/ proxy, warm, is at least as fast as docker-registry's own
 * pull-through proxy warm; cold (first pull, fetching and verifying from upstream) it reaches
 * ≥ 0.9× reading directly from the upstream docker-registry.
 *
 *   bash bench/run.sh registry          (REGISTRY_BENCH_MIB=100 by default)
 *
 * Everything on loopback in one run: an upstream docker-registry, docker-registry as a
 * pull-through proxy of it, and Warden (`up`, embedded PostgreSQL and Redis under a temp dir)
 * with the upstream configured. The client is curl in its own process, so neither server
 * shares an event loop or a CPU budget with the measuring side. Two shapes: one blob of
 * REGISTRY_BENCH_MIB MiB, and a 5-layer image (5 × MiB/5, all layers pulled at once, as
 * clients do). The limit row is a plain read of the stored file (page cache).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { startWarden } from '../src/main';
import { loadConfig } from '../src/platform/config';
import { buildImage, BuiltImage, hexOf } from '../test/fixtures/images/oci-image';
import { pushImage, startDockerRegistry } from '../test/utils/registry';

const MIB = Number(process.env.REGISTRY_BENCH_MIB ?? 100);
const WARM_RUNS = 3;
const TOKEN = 'bench-admin-token-0123456789';
const run = promisify(execFile);

/** curl GETs in parallel; returns MB/s over all bytes (10^6, as the anchors in DESIGN.md). */
async function pull(urls: string[], auth?: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const sizes = await Promise.all(
    urls.map(async (u) => {
      const args = ['-sSf', '-o', '/dev/null', '-w', '%{size_download}', ...(auth ? ['-u', auth] : []), u];
      return Number((await run('curl', args, { maxBuffer: 1 << 20 })).stdout);
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return sizes.reduce((a, b) => a + b, 0) / 1e6 / s;
}

async function pageCacheRead(files: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  await Promise.all(
    files.map(
      (f) =>
        new Promise<void>((resolve, reject) =>
          createReadStream(f, { highWaterMark: 1 << 20 })
            .on('data', (c) => (bytes += c.length))
            .on('end', resolve)
            .on('error', reject),
        ),
    ),
  );
  return bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-registry-'));
  const upstream = await startDockerRegistry();
  const proxy = await startDockerRegistry({ proxyRemoteUrl: upstream.url });
  const shapes: Array<{ name: string; repo: string; image: BuiltImage }> = [
    {
      name: `1 blob, ${MIB} MiB`,
      repo: 'bench/blob',
      image: buildImage({ layers: [randomBytes(MIB << 20)] }),
    },
    {
      name: `5 layers, ${MIB / 5} MiB each`,
      repo: 'bench/layers',
      image: buildImage({ layers: Array.from({ length: 5 }, () => randomBytes((MIB << 20) / 5)) }),
    },
  ];
  for (const s of shapes) await pushImage(upstream.url, s.repo, '1', s.image);

  const config = loadConfig({
    WARDEN_DATA_DIR: path.join(tmp, 'warden'),
    WARDEN_PORT: '0',
    WARDEN_ADMIN_TOKEN: TOKEN,
    WARDEN_LOG_LEVEL: 'error',
    WARDEN_REGISTRY_UPSTREAMS: `up=http+insecure://${upstream.host}`,
  });
  const warden = await startWarden('up', config, pino({ level: 'error' }));
  const rows: string[][] = [];
  try {
    for (const s of shapes) {
      const blobs = (base: string, repo: string) =>
        s.image.layers.map((l) => `${base}/v2/${repo}/blobs/${l.digest}`);
      const directRuns: number[] = [];
      for (let i = 0; i < WARM_RUNS; i++) directRuns.push(await pull(blobs(upstream.url, s.repo)));
      const direct = median(directRuns);
      const proxyCold = await pull(blobs(proxy.url, s.repo));
      const proxyWarm: number[] = [];
      for (let i = 0; i < WARM_RUNS; i++) proxyWarm.push(await pull(blobs(proxy.url, s.repo)));
      const auth = `x:${TOKEN}`;
      const wardenCold = await pull(blobs(warden.url as string, `up/${s.repo}`), auth);
      const wardenWarm: number[] = [];
      for (let i = 0; i < WARM_RUNS; i++)
        wardenWarm.push(await pull(blobs(warden.url as string, `up/${s.repo}`), auth));
      const stored = s.image.layers.map((l) =>
        path.join(config.dataDir, 'store', 'blobs', 'sha256', hexOf(l.digest)),
      );
      const cache = median([
        await pageCacheRead(stored),
        await pageCacheRead(stored),
        await pageCacheRead(stored),
      ]);
      const fmt = (v: number) => v.toFixed(0);
      const ratio = (v: number) => `${(v / direct).toFixed(2)}×`;
      rows.push(
        [s.name, 'direct from upstream docker-registry', fmt(direct), '1.00×'],
        [s.name, 'docker-registry proxy, cold', fmt(proxyCold), ratio(proxyCold)],
        [s.name, 'docker-registry proxy, warm', fmt(median(proxyWarm)), ratio(median(proxyWarm))],
        [s.name, 'Warden proxy, cold (verified)', fmt(wardenCold), ratio(wardenCold)],
        [s.name, 'Warden proxy, warm', fmt(median(wardenWarm)), ratio(median(wardenWarm))],
        [s.name, 'page-cache file read (limit)', fmt(cache), ratio(cache)],
        [
          s.name,
          'targets',
          `cold ≥ 0.9× direct: ${wardenCold >= 0.9 * direct ? 'met' : 'MISSED'}`,
          `warm ≥ proxy warm: ${median(wardenWarm) >= median(proxyWarm) ? 'met' : 'MISSED'}`,
        ],
      );
    }
  } finally {
    await warden.stop();
    await proxy.stop();
    await upstream.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const head = ['shape', 'path', 'MB/s', 'vs direct'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\nanchor (DESIGN.md, 100 MiB): direct 1028 MB/s; docker-registry proxy cold 454, warm 1344; page cache 5800`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
