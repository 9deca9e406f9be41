import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { socketRequest } from './socket-request';

// Kept-alive connections: a pull is a burst of requests to one host, and a new TLS handshake
// per blob would cost more than the small blobs themselves.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export interface SendOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  /** For pushes: the bytes to send (a stream is sent once: a redirect cannot replay it). */
  body?: Buffer | Readable;
  headers: Record<string, string>;
  /** Idle time on the socket (connect, headers, or between body bytes) before giving up. */
  timeoutMs: number;
  /** Whether a redirect may go from https to http (only for upstreams marked insecure). */
  allowInsecure: boolean;
  /**
   * For blob GETs, whose bodies are big enough that the http client's per-chunk copies
   * dominate: plain-http hops read the body straight from a connection of their own
   * (socket-request.ts). https hops keep the pooled client: a TLS handshake per blob and per
   * redirect hop would cost a remote pull more than the copies.
   */
  rawBody?: boolean;
}

/** Thrown when the upstream could not be talked to at all (as opposed to answering an error). */
export class UpstreamConnectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamConnectError';
  }
}

function once(url: URL, opts: SendOptions): Promise<IncomingMessage> {
  const method = opts.method;
  if (opts.rawBody && url.protocol === 'http:' && (method === 'GET' || method === 'HEAD'))
    return socketRequest(url, { ...opts, method }).catch((err: Error) => {
      throw new UpstreamConnectError(err.message, { cause: err });
    });
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: opts.method,
      headers: opts.headers,
      agent: agents[url.protocol as 'http:' | 'https:'],
    });
    req.setTimeout(opts.timeoutMs, () =>
      req.destroy(new UpstreamConnectError(`no answer within ${opts.timeoutMs} ms`)),
    );
    req.on('error', (err) =>
      reject(
        err instanceof UpstreamConnectError ? err : new UpstreamConnectError(err.message, { cause: err }),
      ),
    );
    req.on('response', resolve);
    if (opts.body === undefined || Buffer.isBuffer(opts.body)) req.end(opts.body);
    else {
      opts.body.on('error', (err) => req.destroy(err));
      opts.body.pipe(req);
    }
  });
}

/**
 * One request, following redirects (blob GETs are often answered 307 to a storage host).
 * Authorization goes only to the origin it was meant for: a credential for the registry must
 * not reach a storage host the registry sends us to (the same rule browsers and Go's
 * net/http apply on cross-host redirects).
 */
export async function send(url: URL, opts: SendOptions): Promise<IncomingMessage & { url?: string }> {
  let current = url;
  let headers = { ...opts.headers };
  for (let hops = 0; ; hops++) {
    const res = await once(current, { ...opts, headers });
    const replayable = opts.body === undefined || Buffer.isBuffer(opts.body);
    if (!REDIRECTS.has(res.statusCode ?? 0) || !res.headers.location || !replayable) return res;
    res.resume();
    if (hops >= MAX_REDIRECTS) throw new UpstreamConnectError(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(res.headers.location, current);
    if (next.protocol !== 'https:' && next.protocol !== 'http:')
      throw new UpstreamConnectError(`redirect to unsupported scheme ${next.protocol}`);
    if (next.protocol === 'http:' && current.protocol === 'https:' && !opts.allowInsecure)
      throw new UpstreamConnectError('redirect from https to plain http refused');
    if (next.origin !== current.origin) {
      headers = Object.fromEntries(
        Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
      );
    }
    current = next;
  }
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Error(`body exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
