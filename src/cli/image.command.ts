import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { ClientRequest, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import type { WardenConfig } from '../platform/config';
import { addTarEntry } from '../platform/streams';

/**
 * `warden image …` talks to the running Warden over HTTP, as `docker load` / `podman load`
 * talk to their daemon: the server owns the store and the database, so imports are checked,
 * audited and serialized in one place. The token is WARDEN_ADMIN_TOKEN or --token; the
 * address is WARDEN_HOST:WARDEN_PORT or --url.
 */
export const IMAGE_USAGE_TEXT = `usage: warden image <command> [--url URL] [--token TOKEN]

  import <path> [--tag NAME[:TAG]]   OCI layout dir, oci-archive tar or docker-save tar (.gz ok)
  pull <ref>                         from a configured upstream: 127.0.0.1:5000/app:1, local/app:1, busybox
  ls [--json]                        images in the store
  inspect <ref>                      one image as JSON
  rm <ref>...                        untag by name; delete by digest or a name's last tag
  prune [--older-than DAYS]          remove cached blobs no image uses (not pulled within DAYS)`;

export class ImageCommandError extends Error {}

interface Options {
  url: string;
  /** Trusted for an https URL besides the system's CAs: Warden's self-signed certificate. */
  ca?: Buffer;
  token?: string;
  rest: string[];
  flags: Map<string, string | true>;
}

function parseArgs(args: string[], config: WardenConfig): Options {
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') flags.set('json', true);
    else if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      const v = inline ?? args[++i];
      if (v === undefined) throw new ImageCommandError(`--${k} needs a value`);
      flags.set(k, v);
    } else rest.push(a);
  }
  const host =
    config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host === '::' ? '::1' : config.http.host;
  // The scheme Warden serves (src/platform/http/tls.ts): https with a certificate, or when bound
  // beyond loopback on WARDEN_TLS=auto, where it made a self-signed one under the data dir.
  const tls = config.http.tls;
  const bound = config.http.host;
  const loopback =
    bound === 'localhost' || bound === '::1' || (isIP(bound) === 4 && bound.startsWith('127.'));
  const https = tls.mode === 'files' || (tls.mode === 'auto' && !loopback);
  const selfSigned = join(config.dataDir, 'tls', 'http-cert.pem');
  const url =
    (flags.get('url') as string | undefined) ??
    `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
  return {
    url: url.replace(/\/+$/, ''),
    ca: tls.mode === 'auto' && existsSync(selfSigned) ? readFileSync(selfSigned) : undefined,
    token: (flags.get('token') as string | undefined) ?? config.adminToken,
    rest,
    flags,
  };
}

function request(
  o: Options,
  url: URL,
  opts: RequestOptions,
  onResponse: (r: IncomingMessage) => void,
): ClientRequest {
  return url.protocol === 'https:'
    ? httpsRequest(url, { ...opts, ...(o.ca && { ca: o.ca }) }, onResponse)
    : httpRequest(url, opts, onResponse);
}

/**
 * POST with a JSON body, reading the NDJSON answer line by line as it arrives (pull progress).
 * An error status before the stream starts is one JSON error, as for `call`.
 */
async function streamLines(
  o: Options,
  path: string,
  body: unknown,
  onLine: (l: Record<string, unknown>) => void,
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  await new Promise<void>((resolve, reject) => {
    const req = request(o, new URL(`${o.url}${path}`), { method: 'POST', headers }, (r) => {
      let buf = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!text.trim()) continue;
          try {
            onLine(JSON.parse(text) as Record<string, unknown>);
          } catch (err) {
            r.destroy();
            return reject(
              err instanceof ImageCommandError
                ? err
                : new ImageCommandError(`bad answer: ${text.slice(0, 200)}`),
            );
          }
        }
      });
      r.on('end', () => {
        if ((r.statusCode ?? 0) < 400) return resolve();
        let json: { message?: string } = {};
        try {
          json = JSON.parse(buf) as { message?: string };
        } catch {
          /* not JSON: the status says it */
        }
        const hint = r.statusCode === 401 ? ' (set WARDEN_ADMIN_TOKEN or --token)' : '';
        reject(new ImageCommandError(`${json.message ?? `HTTP ${r.statusCode}`}${hint}`));
      });
      r.on('error', reject);
    });
    req.on('error', (err) =>
      reject(
        new ImageCommandError(`cannot reach Warden at ${o.url} (${err.message}); is it running? (--url)`),
      ),
    );
    req.end(JSON.stringify(body));
  });
}

async function call(o: Options, method: string, path: string, body?: { stream: Readable; type: string }) {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (body) headers['content-type'] = body.type;
  const url = new URL(`${o.url}${path}`);
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(o, url, { method, headers }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (text += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
      r.on('error', reject);
    });
    req.on('error', (err) =>
      reject(
        new ImageCommandError(`cannot reach Warden at ${o.url} (${err.message}); is it running? (--url)`),
      ),
    );
    if (body) pipeline(body.stream, req).catch(reject);
    else req.end();
  });
  let json: { message?: string } & Record<string, unknown>;
  try {
    json = JSON.parse(res.text);
  } catch {
    throw new ImageCommandError(`unexpected answer from ${o.url} (${res.status}): ${res.text.slice(0, 200)}`);
  }
  if (res.status === 401)
    throw new ImageCommandError(`${json.message ?? 'unauthenticated'} (set WARDEN_ADMIN_TOKEN or --token)`);
  if (res.status >= 400) throw new ImageCommandError(json.message ?? `HTTP ${res.status}`);
  return json;
}

/** An OCI layout dir as a tar stream: the same bytes as an oci-archive of it. Regular files only. */
function tarDirectory(root: string): Readable {
  const pack = tar.pack();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const s = await stat(join(root, path));
      if (s.isDirectory()) {
        await addTarEntry(pack, { name: `${path}/`, type: 'directory', mode: 0o755, mtime: s.mtime });
        await walk(path);
      } else if (s.isFile()) {
        await addTarEntry(
          pack,
          { name: path, size: s.size, mode: 0o644, mtime: s.mtime },
          createReadStream(join(root, path)),
        );
      }
    }
  };
  walk('').then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return pack as unknown as Readable;
}

const human = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(1)}GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}MB`
      : `${(n / 1e3).toFixed(1)}kB`;

interface ListedImage {
  digest: string;
  size: number;
  os: string;
  architecture: string;
  createdAt: string;
  tags: Array<{ registry: string; repository: string; tag: string }>;
}

export async function imageCommand(
  args: string[],
  config: WardenConfig,
  out: (s: string) => void,
): Promise<void> {
  const [sub, ...rest] = args;
  const o = parseArgs(rest, config);
  switch (sub) {
    case 'import': {
      const [path] = o.rest;
      if (!path || o.rest.length > 1) throw new ImageCommandError('image import takes one path');
      let s;
      try {
        s = statSync(path);
      } catch {
        throw new ImageCommandError(`${path}: no such file or directory`);
      }
      const stream = s.isDirectory() ? tarDirectory(path) : createReadStream(path);
      const tag = o.flags.get('tag');
      const query = typeof tag === 'string' ? `?tag=${encodeURIComponent(tag)}` : '';
      const r = (await call(o, 'POST', `/images/import${query}`, { stream, type: 'application/x-tar' })) as {
        format: string;
        images: Array<{ digest: string; tags: string[] }>;
      };
      for (const i of r.images)
        out(`Loaded image: ${i.tags.length ? i.tags.join(', ') : '<none>'} ${i.digest} (${r.format})\n`);
      return;
    }
    case 'pull': {
      if (o.rest.length !== 1) throw new ImageCommandError('image pull takes one reference');
      // One line per message, as `docker pull` prints them without a terminal; Downloading
      // messages only every 10% so a log stays readable.
      const shown = new Map<string, number>();
      await streamLines(o, '/images/pull?stream=true', { reference: o.rest[0] }, (m) => {
        if (typeof m.error === 'string') throw new ImageCommandError(m.error);
        if (typeof m.status !== 'string') return;
        const id = typeof m.id === 'string' ? m.id : undefined;
        const detail = m.progressDetail as { current?: number; total?: number } | undefined;
        if (m.status === 'Downloading' && id && detail?.current !== undefined && detail.total) {
          const tenth = Math.floor((detail.current / detail.total) * 10);
          if (shown.get(id) === tenth) return;
          shown.set(id, tenth);
          return out(`${id}: Downloading ${human(detail.current)}/${human(detail.total)}\n`);
        }
        out(id ? `${id}: ${m.status}\n` : `${m.status}\n`);
      });
      return;
    }
    case 'prune': {
      const days = o.flags.get('older-than');
      const olderThanDays = typeof days === 'string' ? Number(days) : undefined;
      if (olderThanDays !== undefined && !(Number.isFinite(olderThanDays) && olderThanDays >= 0))
        throw new ImageCommandError(`--older-than takes a number of days (got '${String(days)}')`);
      const r = (await call(o, 'POST', '/images/prune', {
        stream: Readable.from([JSON.stringify({ olderThanDays })]),
        type: 'application/json',
      })) as unknown as {
        blobs: { removed: string[]; bytes: number };
        layers: { removed: string[]; bytes: number };
        keptRecent: number;
        layersSkipped?: string;
      };
      for (const d of r.blobs.removed) out(`Deleted blob: ${d}\n`);
      for (const d of r.layers.removed) out(`Deleted layer: ${d}\n`);
      if (r.keptRecent)
        out(`Kept ${r.keptRecent} unreferenced blob(s) used within ${olderThanDays} day(s)\n`);
      if (r.layersSkipped) out(`Note: ${r.layersSkipped}\n`);
      out(`Total reclaimed space: ${human(r.blobs.bytes + r.layers.bytes)}\n`);
      return;
    }
    case 'ls': {
      const { images } = (await call(o, 'GET', '/images')) as unknown as { images: ListedImage[] };
      if (o.flags.has('json')) return out(`${JSON.stringify(images, null, 2)}\n`);
      const rows = [['REPOSITORY', 'TAG', 'DIGEST', 'PLATFORM', 'SIZE', 'IMPORTED']];
      for (const i of images) {
        const names = i.tags.length ? i.tags : [{ registry: '', repository: '<none>', tag: '<none>' }];
        for (const t of names) {
          rows.push([
            t.registry ? `${t.registry}/${t.repository}` : t.repository,
            t.tag,
            i.digest.slice(7, 19),
            `${i.os}/${i.architecture}`,
            human(i.size),
            i.createdAt.slice(0, 19).replace('T', ' '),
          ]);
        }
      }
      const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
      for (const r of rows)
        out(
          `${r
            .map((v, c) => v.padEnd(widths[c]))
            .join('   ')
            .trimEnd()}\n`,
        );
      return;
    }
    case 'inspect': {
      if (o.rest.length !== 1) throw new ImageCommandError('image inspect takes one reference');
      out(`${JSON.stringify(await call(o, 'GET', `/images/${encodeURIComponent(o.rest[0])}`), null, 2)}\n`);
      return;
    }
    case 'rm': {
      if (o.rest.length === 0) throw new ImageCommandError('image rm takes at least one reference');
      for (const ref of o.rest) {
        const r = (await call(o, 'DELETE', `/images/${encodeURIComponent(ref)}`)) as {
          untagged: string[];
          deleted: string[];
        };
        for (const u of r.untagged) out(`Untagged: ${u}\n`);
        for (const d of r.deleted) out(`Deleted: ${d}\n`);
      }
      return;
    }
    default:
      throw new ImageCommandError(sub ? `unknown image command '${sub}'` : 'image needs a command');
  }
}
