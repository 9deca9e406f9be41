/*
 * Real upstream registries for the /v2/ proxy tests and bench: Debian's docker-registry on a
 * free loopback port with a temp storage dir, a push helper speaking the distribution API,
 * and a "front" — a small proxy between Warden and the registry that counts requests, can
 * corrupt a blob's bytes, can play dead, and can demand the Bearer token flow.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  freePort,
  spawnSupervised,
  stopChild,
  tailOutput,
  which,
} from '../../src/platform/process/child-process';
import type { BuiltImage } from '../fixtures/images/oci-image';
import { eventually, quietLog } from './services';

export const hasDockerRegistry = () => which('docker-registry') !== undefined;
export const hasSkopeo = () => which('skopeo') !== undefined;

/**
 * `describe` for suites that need Debian's docker-registry (and skopeo when `skopeo`), which
 * scripts/bootstrap.sh --test installs; without them the suite is skipped and says why (the
 * test reporter counts skips, and CI expects none).
 */
export function describeWithRegistry(what: string, opts: { skopeo?: boolean } = {}): jest.Describe {
  const missing = [
    ...(hasDockerRegistry() ? [] : ['docker-registry']),
    ...(opts.skopeo && !hasSkopeo() ? ['skopeo'] : []),
  ];
  if (missing.length === 0) return describe;
  console.warn(`${what} skipped: ${missing.join(' and ')} not installed (scripts/bootstrap.sh --test)`);
  return describe.skip;
}

export interface DockerRegistry {
  url: string;
  /** host:port */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

/** docker-registry serving a temp dir; with `proxyRemoteUrl` it is distribution's own pull-through proxy. */
export async function startDockerRegistry(opts: { proxyRemoteUrl?: string } = {}): Promise<DockerRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-upstream-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dir}/data`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(opts.proxyRemoteUrl ? ['proxy:', `  remoteurl: ${opts.proxyRemoteUrl}`] : []),
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'config.yml'), config);
  const child = spawnSupervised('docker-registry', ['serve', path.join(dir, 'config.yml')], {
    deathSignal: 'SIGTERM',
  });
  const output = tailOutput(child, quietLog, 'docker-registry');
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    `docker-registry on ${url}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${output()}`);
      return (await fetch(`${url}/v2/`)).status === 200;
    },
    20000,
  );
  return {
    url,
    host: `127.0.0.1:${port}`,
    dir,
    stop: async () => {
      await stopChild(child, 'SIGTERM', 5000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pushes every blob, then the manifest under `tag` (distribution spec: monolithic upload). */
export async function pushImage(
  registryUrl: string,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<void> {
  for (const blob of [image.config, ...image.layers]) {
    const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location') as string, registryUrl);
    location.searchParams.set('digest', blob.digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.bytes,
    });
    if (put.status !== 201) throw new Error(`upload ${blob.digest}: ${put.status} ${await put.text()}`);
  }
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': image.manifest.mediaType },
    body: image.manifest.bytes,
  });
  if (res.status !== 201) throw new Error(`manifest: ${res.status} ${await res.text()}`);
}

export interface Front {
  url: string;
  host: string;
  /** GETs and HEADs seen, by "METHOD path". */
  counts: Map<string, number>;
  count(method: string, pathPart: string): number;
  /** Digests whose blob bodies get one byte flipped (length kept). */
  corrupt: Set<string>;
  tokenRequests: number;
  /** Closes the port (connections refused), as an upstream that is down. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A proxy in front of `target`. With `token`, it behaves like a registry with token auth:
 * /v2/ needs `Bearer <t>`, else 401 with a challenge naming its /token realm, which issues
 * short tokens for Basic `username:password`.
 */
export async function startFront(
  target: string,
  opts: { token?: { username: string; password: string } } = {},
): Promise<Front> {
  const tokens = new Set<string>();
  const counts = new Map<string, number>();
  const corrupt = new Set<string>();
  const front = { counts, corrupt, tokenRequests: 0 } as Front;
  let base = '';
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://front');
    if (opts.token && url.pathname === '/token') {
      front.tokenRequests++;
      const basic = Buffer.from(
        (req.headers.authorization ?? '').replace(/^Basic /, ''),
        'base64',
      ).toString();
      if (basic !== `${opts.token.username}:${opts.token.password}`) {
        res.writeHead(401).end();
        return;
      }
      const t = randomBytes(16).toString('hex');
      tokens.add(t);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: t, expires_in: 300, issued_at: new Date().toISOString() }));
      return;
    }
    const key = `${req.method} ${url.pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (opts.token) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      if (!bearer || !tokens.has(bearer[1])) {
        const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(url.pathname);
        const scope = m ? `,scope="repository:${m[1]}:pull"` : '';
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="front"${scope}` });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}');
        return;
      }
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers.host;
    const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)?.[1];
      if (req.method === 'GET' && digest && corrupt.has(digest)) {
        let flipped = false;
        upRes.on('data', (chunk: Buffer) => {
          if (!flipped && chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[chunk.length >> 1] ^= 0xff;
            flipped = true;
          }
          res.write(chunk);
        });
        upRes.on('end', () => res.end());
      } else upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  let server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  front.url = base;
  front.host = `127.0.0.1:${port}`;
  front.count = (method, part) =>
    [...counts]
      .filter(([k]) => k.startsWith(`${method} `) && k.includes(part))
      .reduce((n, [, v]) => n + v, 0);
  const stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  front.down = stop;
  front.up = async () => {
    server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  };
  front.close = () => (server.listening ? stop() : Promise.resolve());
  return front;
}

const run = promisify(execFile);

/** skopeo copy from Warden's /v2/ into an oci layout dir; skopeo verifies every digest it reads. */
export async function skopeoCopy(
  src: string,
  destDir: string,
  creds: string,
): Promise<{ stdout: string; stderr: string }> {
  return run(
    'skopeo',
    [
      'copy',
      '--retry-times',
      '0',
      '--src-tls-verify=false',
      '--src-creds',
      creds,
      `docker://${src}`,
      `oci:${destDir}`,
    ],
    { timeout: 60000, env: { ...process.env, HOME: os.tmpdir() } },
  );
}
