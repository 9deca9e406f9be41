/**
 * Claim (issue 5): Warden's /v2/ proxy, warm, is at least as fast as docker-registry's own
 * pull-through proxy warm; cold (first pull, fetching and verifying from upstream) it reaches
 * ≥ 0.9× reading directly from the upstream docker-registry.
 *
 *   bash bench/run.sh registry    (REGISTRY_BENCH_MIB=100, REGISTRY_BENCH_ROUNDS=5 by default)
 *
 * Everything on loopback in one run: an upstream docker-registry, docker-registry as a
 * pull-through proxy of it, and Warden (`up`, embedded PostgreSQL and Redis under a temp dir)
 * with the upstream configured. Two shapes: one blob of REGISTRY_BENCH_MIB MiB, and a 5-layer
 * image (5 × MiB/5, all layers at once, as clients pull them).
 *
 * Each round pushes fresh random content, so every cold sample is a real first pull for both
 * proxies, then takes one sample of each path; the order of the three paths (direct, registry
 * proxy cold→warm, Warden cold→warm) rotates per round so they share the host's noise. A warm
 * sample waits until the proxy has the blob in its own store (distribution's proxy stores it
 * in the background, with a second upstream fetch). Direct and warm pulls are short and noisy:
 * WARM_SAMPLES of each per round.
 * The table shows medians and the range.
 *
 * The client is curl (one process, `--parallel`) started by a bash that reads the wall clock
 * around it and reports curl's CPU time (`times`); docker-registry's CPU comes from its
 * threads' schedstat; Warden's is this process's `process.cpuUsage()` (Warden runs here).
 * With those per-GB costs the summary says how many cores a path needs at a given speed.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import pino from 'pino';
import { startWarden } from '../src/main';
import { loadConfig } from '../src/platform/config';
import { buildImage, hexOf } from '../test/fixtures/images/oci-image';
import { DockerRegistry, pushImage, startDockerRegistry } from '../test/utils/registry';

const MIB = Number(process.env.REGISTRY_BENCH_MIB ?? 100);
const ROUNDS = Number(process.env.REGISTRY_BENCH_ROUNDS ?? 5);
/** Warm and direct pulls are short and noisy: several per round, against one cold sample. */
const WARM_SAMPLES = 3;
const COLD_TARGET = 0.9;
const TOKEN = 'bench-admin-token-0123456789';
const CORES = os.cpus().length;

const PATHS = ['direct', 'proxyCold', 'proxyWarm', 'wardenCold', 'wardenWarm', 'pageCache'] as const;
type PathName = (typeof PATHS)[number];
const LABELS: Record<PathName, string> = {
  direct: 'direct from upstream docker-registry',
  proxyCold: 'docker-registry proxy, cold',
  proxyWarm: 'docker-registry proxy, warm',
  wardenCold: 'Warden proxy, cold (verified)',
  wardenWarm: 'Warden proxy, warm',
  pageCache: 'page-cache file read (limit)',
};

/** One timed pull: MB/s (10^6, as DESIGN.md's anchors) and CPU seconds per GB by process. */
interface Sample {
  mbps: number;
  client: number;
  upstream: number;
  /** The proxy in the path: docker-registry's proxy, or Warden (this process). */
  proxy: number;
}

/*
 * The timed part runs in bash: spawning from this (large) process costs milliseconds that
 * belong to neither server. `times` prints the shell's own and its children's (curl's) CPU.
 */
const CURL = `
s=$EPOCHREALTIME
curl -sSf --parallel --parallel-max 16 -w '%{size_download}\\n' \${CURL_AUTH:+-u "$CURL_AUTH"} "$@"
rc=$?
e=$EPOCHREALTIME
echo "T $rc $s $e"
times`;

function curl(urls: string[], auth?: string): Promise<{ seconds: number; bytes: number; cpu: number }> {
  const args = ['-c', CURL, 'bench', ...urls.flatMap((u) => ['-o', '/dev/null', u])];
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      args,
      { env: { ...process.env, LC_ALL: 'C', CURL_AUTH: auth ?? '' }, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const lines = stdout.trim().split('\n');
        const t = lines.find((l) => l.startsWith('T '))?.split(' ');
        if (err || !t || t[1] !== '0') return reject(new Error(`curl failed: ${stderr || err?.message}`));
        const bytes = lines.slice(0, lines.indexOf(t.join(' '))).reduce((a, l) => a + Number(l), 0);
        // `times`: line 1 the shell, line 2 its children (`0m0.012s 0m0.034s` user, system).
        const secs = (m: string) => {
          const [, min, sec] = /(\d+)m([\d.]+)s/.exec(m) ?? ['', '0', '0'];
          return Number(min) * 60 + Number(sec);
        };
        const children = lines[lines.length - 1].split(' ');
        resolve({ seconds: Number(t[3]) - Number(t[2]), bytes, cpu: secs(children[0]) + secs(children[1]) });
      },
    );
  });
}

/** CPU seconds a process has used, all its threads (schedstat: ns on the CPU per thread). */
function cpuOf(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that just exited; its time is gone with it (Go keeps its threads).
    }
  }
  return ns / 1e9;
}

/** startDockerRegistry does not say its pid: the docker-registry whose command line names its config. */
function pidOf(reg: DockerRegistry): number {
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.startsWith('docker-registry') && cmd.includes(path.join(reg.dir, 'config.yml')))
        return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no docker-registry process for ${reg.dir}`);
}

const wardenCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The limit row: the stored files read from the page cache into one reused buffer each, all at once. */
async function pageCacheRead(files: string[]): Promise<Sample> {
  const c0 = wardenCpu();
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  await Promise.all(
    files.map(async (f) => {
      const fh = await fs.promises.open(f, 'r');
      const buf = Buffer.allocUnsafeSlow(1 << 20);
      try {
        for (let n = 1; n > 0; bytes += n) n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      } finally {
        await fh.close();
      }
    }),
  );
  const gb = bytes / 1e9;
  return {
    mbps: bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9),
    client: 0,
    upstream: 0,
    proxy: (wardenCpu() - c0) / gb,
  };
}

/*
 * Warden runs in this process, so the bench's own garbage (each round's random content, 100 MiB
 * of Buffers per shape) would otherwise be collected during Warden's measured pulls: V8 starts
 * full collections when external memory grows. Collected before each round's pulls instead.
 */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

async function until(what: string, ok: () => boolean, ms = 30000): Promise<void> {
  for (const deadline = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Shape {
  name: string;
  repo: string;
  layers: number;
  samples: Record<PathName, Sample[]>;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-registry-'));
  const upstream = await startDockerRegistry();
  const proxy = await startDockerRegistry({ proxyRemoteUrl: upstream.url });
  const upstreamPid = pidOf(upstream);
  const proxyPid = pidOf(proxy);
  const config = loadConfig({
    WARDEN_DATA_DIR: path.join(tmp, 'warden'),
    WARDEN_PORT: '0',
    WARDEN_ADMIN_TOKEN: TOKEN,
    WARDEN_LOG_LEVEL: 'error',
    WARDEN_REGISTRY_UPSTREAMS: `up=http+insecure://${upstream.host}`,
  });
  const warden = await startWarden('up', config, pino({ level: 'error' }));
  const wardenUrl = warden.url as string;
  const auth = `x:${TOKEN}`;
  const blank = () => Object.fromEntries(PATHS.map((p) => [p, []])) as unknown as Record<PathName, Sample[]>;
  const shapes: Shape[] = [
    { name: `1 blob, ${MIB} MiB`, repo: 'bench/blob', layers: 1, samples: blank() },
    { name: `5 layers, ${MIB / 5} MiB each`, repo: 'bench/layers', layers: 5, samples: blank() },
  ];
  const wardenBlob = (digest: string) => path.join(config.dataDir, 'store', 'blobs', 'sha256', hexOf(digest));
  const registryBlob = (reg: DockerRegistry, digest: string) =>
    path.join(reg.dir, 'data/docker/registry/v2/blobs/sha256', hexOf(digest).slice(0, 2), hexOf(digest));

  /** curl against one server, with the CPU its processes used, per GB moved. */
  async function sample(
    urls: string[],
    bytes: number,
    opts: { auth?: string; via?: 'proxy' | 'warden' },
  ): Promise<Sample> {
    const u0 = cpuOf(upstreamPid);
    const p0 = opts.via === 'proxy' ? cpuOf(proxyPid) : wardenCpu();
    const r = await curl(urls, opts.auth);
    if (r.bytes !== bytes) throw new Error(`${urls[0]}…: ${r.bytes} bytes arrived, ${bytes} expected`);
    const gb = r.bytes / 1e9;
    const proxyCpu = opts.via === 'proxy' ? cpuOf(proxyPid) - p0 : opts.via ? wardenCpu() - p0 : 0;
    return {
      mbps: r.bytes / 1e6 / r.seconds,
      client: r.cpu / gb,
      upstream: (cpuOf(upstreamPid) - u0) / gb,
      proxy: proxyCpu / gb,
    };
  }

  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of shapes) {
        // Fresh bytes each round: a cold sample must be a first pull, for both proxies.
        const image = buildImage({
          layers: Array.from({ length: s.layers }, () => randomBytes(Math.floor((MIB << 20) / s.layers))),
        });
        await pushImage(upstream.url, s.repo, `r${round}`, image);
        const digests = image.layers.map((l) => l.digest);
        const total = image.layers.reduce((a, l) => a + l.bytes.length, 0);
        collectGarbage();
        const blobs = (base: string, repo: string) => digests.map((d) => `${base}/v2/${repo}/blobs/${d}`);
        const groups: Array<() => Promise<void>> = [
          async () => {
            for (let i = 0; i < WARM_SAMPLES; i++)
              s.samples.direct.push(await sample(blobs(upstream.url, s.repo), total, {}));
          },
          async () => {
            s.samples.proxyCold.push(await sample(blobs(proxy.url, s.repo), total, { via: 'proxy' }));
            await until('docker-registry proxy to store the blobs', () =>
              digests.every(
                (d, i) =>
                  fs.statSync(path.join(registryBlob(proxy, d), 'data'), { throwIfNoEntry: false })?.size ===
                  image.layers[i].bytes.length,
              ),
            );
            for (let i = 0; i < WARM_SAMPLES; i++)
              s.samples.proxyWarm.push(await sample(blobs(proxy.url, s.repo), total, { via: 'proxy' }));
          },
          async () => {
            s.samples.wardenCold.push(
              await sample(blobs(wardenUrl, `up/${s.repo}`), total, { auth, via: 'warden' }),
            );
            await until('Warden to store the blobs', () =>
              digests.every((d) => fs.existsSync(wardenBlob(d))),
            );
            for (let i = 0; i < WARM_SAMPLES; i++)
              s.samples.wardenWarm.push(
                await sample(blobs(wardenUrl, `up/${s.repo}`), total, { auth, via: 'warden' }),
              );
            s.samples.pageCache.push(await pageCacheRead(digests.map(wardenBlob)));
          },
        ];
        for (let g = 0; g < groups.length; g++) await groups[(g + round) % groups.length]();
        // Keep the disks and the page cache to one round's content: removing a file whose
        // pages were never written back also spares the writeback.
        for (const d of digests) {
          fs.rmSync(wardenBlob(d), { force: true });
          fs.rmSync(registryBlob(proxy, d), { recursive: true, force: true });
          fs.rmSync(registryBlob(upstream, d), { recursive: true, force: true });
        }
      }
    }
  } finally {
    await warden.stop();
    await proxy.stop();
    await upstream.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  report(shapes);
}

function report(shapes: Shape[]): void {
  const rows: string[][] = [];
  const notes: string[] = [];
  let missed = false;
  const f0 = (v: number) => v.toFixed(0);
  const f2 = (v: number) => v.toFixed(2);
  for (const s of shapes) {
    const med = (p: PathName, k: keyof Sample = 'mbps') => median(s.samples[p].map((x) => x[k]));
    const direct = med('direct');
    for (const p of PATHS) {
      const xs = s.samples[p];
      const mb = xs.map((x) => x.mbps);
      const cpu = (k: keyof Sample, show: boolean) => (show ? f2(med(p, k)) : '–');
      rows.push([
        s.name,
        LABELS[p],
        f0(med(p)),
        `${f0(Math.min(...mb))}–${f0(Math.max(...mb))}`,
        `${(med(p) / direct).toFixed(2)}×`,
        cpu('client', p !== 'pageCache'),
        cpu('upstream', p !== 'pageCache'),
        cpu('proxy', p !== 'direct'),
      ]);
    }
    const coldOk = med('wardenCold') >= COLD_TARGET * direct;
    const warmOk = med('wardenWarm') >= med('proxyWarm');
    missed ||= !coldOk || !warmOk;
    rows.push([
      s.name,
      'targets',
      `cold ≥ ${COLD_TARGET}× direct: ${coldOk ? 'met' : 'MISSED'}`,
      '',
      '',
      `warm ≥ proxy warm: ${warmOk ? 'met' : 'MISSED'}`,
      '',
      '',
    ]);
    // What running at the target speed would take: each process's CPU per GB at that rate.
    const rate = (COLD_TARGET * direct) / 1000;
    const need =
      rate * (med('wardenCold', 'client') + med('wardenCold', 'upstream') + med('wardenCold', 'proxy'));
    const budget = CORES / rate - med('wardenCold', 'client') - med('wardenCold', 'upstream');
    notes.push(
      `${s.name}: cold at ${COLD_TARGET}× direct (${f0(rate * 1000)} MB/s) needs ${f2(need)} cores at this run's ` +
        `CPU/GB (curl ${f2(med('wardenCold', 'client'))} + upstream ${f2(med('wardenCold', 'upstream'))} + ` +
        `Warden ${f2(med('wardenCold', 'proxy'))}); with ${CORES} cores Warden may spend at most ` +
        `${f2(budget)} CPU-s/GB. Direct itself uses ${f2((rate * (med('direct', 'client') + med('direct', 'upstream'))) / COLD_TARGET)} cores.`,
    );
  }
  const head = ['shape', 'path', 'MB/s median', 'min–max', 'vs direct', 'CPU-s/GB curl', 'upstream', 'proxy'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(
    `\n${ROUNDS} rounds, fresh content each round, paths interleaved; load ${os.loadavg()[0].toFixed(2)}\n`,
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`\n${notes.join('\n')}`);
  console.log(
    `\nanchor (DESIGN.md, 100 MiB): direct 1028 MB/s; docker-registry proxy cold 454, warm 1344; page cache 5800`,
  );
  if (missed) process.exitCode = 1;
}

// Explicit exits: Warden's stop leaves nothing running, but a stray handle must not hang the bench.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
