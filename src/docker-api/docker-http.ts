import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WardenError } from '../platform/errors';
import type { Caller, Role } from '../platform/http';

/**
 * The Docker API's own small HTTP layer: a request, a reply that can be JSON, a stream or a
 * hijacked connection, and a router. Kept apart from Nest's HTTP stack because the Docker
 * protocol needs things Express gets in the way of: `101 UPGRADED` followed by raw bytes in
 * both directions, half-closed sockets, headers flushed before a long wait, `/vX.Y` prefixes.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface DockerRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  caller(): Promise<Caller>;
  /** The JSON body ({} when empty); 400 when it is not JSON. */
  json<T = Record<string, unknown>>(): Promise<T>;
  /** The raw body, for uploads (image archives). */
  stream(): Readable;
}

/** A two-way byte stream after the hijack: output to the client, and what the client sends. */
export interface Hijacked {
  out: Writable;
  /** Client → server bytes (stdin); null when the request was not an upgrade (no input possible). */
  input: Readable | null;
  /** Bytes the client sent along with the request, before `input` (already read off the socket). */
  head: Buffer;
  end(): void;
  onClose(fn: () => void): void;
}

export interface DockerReply {
  json(status: number, body: unknown): void;
  empty(status: number, headers?: Record<string, string>): void;
  /** Headers now (the docker CLI waits for them before it goes on), body as it comes. */
  stream(
    status: number,
    contentType: string,
    headers?: Record<string, string>,
  ): { out: Writable; onClose(fn: () => void): void };
  hijack(contentType: string): Hijacked;
  /** Accepts a WebSocket upgrade (`attach/ws`); 400 on a request that did not ask for one. */
  websocket(): Promise<WebSocket>;
  readonly started: boolean;
}

export type Handler = (req: DockerRequest, reply: DockerReply) => Promise<void>;

/**
 * The client hung up before its stream could start (a `docker logs -f` or `docker save`
 * cancelled while Warden resolved the container or image): there is no one to answer, and the
 * route stops before it starts anything (a tar, an exec, a pull). The server logs it at debug:
 * it is the client's choice, not a fault.
 */
export class ClientGoneError extends Error {
  constructor(what: string) {
    super(`the client left before the ${what} started`);
    this.name = 'ClientGoneError';
  }
}

/**
 * `fn` once `stream` has closed: at once (next microtask) when it already has. A route that
 * registers after an await must not miss a close that happened meanwhile: its loop (stats,
 * events) or follower (logs, attach) would run on for a client that is gone.
 */
function onceClosed(stream: { destroyed: boolean; once(event: 'close', fn: () => void): unknown }) {
  return (fn: () => void): void => {
    if (stream.destroyed) queueMicrotask(fn);
    else stream.once('close', fn);
  };
}

interface Route {
  /** `METHOD /path` as registered: the key of its entry in DOCKER_ROUTE_SCHEMAS. */
  key: string;
  method: string;
  pattern: RegExp;
  keys: string[];
  roles?: Role[];
  handler: Handler;
}

/** Roles that may change things; auditors may only look. */
export const WRITERS: Role[] = ['admin', 'deployer'];

export class DockerRouter {
  private readonly routes: Route[] = [];

  /** `path` uses `:name` segments; `:name*` matches the rest, slashes included (image names). */
  add(method: string, path: string, handler: Handler, roles?: Role[]): this {
    const keys: string[] = [];
    const source = path.replace(/:(\w+)(\*)?/g, (_, key: string, rest?: string) => {
      keys.push(key);
      return rest ? '(.+)' : '([^/]+)';
    });
    this.routes.push({
      key: `${method} ${path}`,
      method,
      pattern: new RegExp(`^${source}$`),
      keys,
      roles,
      handler,
    });
    return this;
  }

  /** Every registered route's key (`METHOD /path`). */
  list(): string[] {
    return this.routes.map((r) => r.key);
  }

  match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { error: WardenError } {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      // HEAD is GET without a body (the CLI's first call is HEAD /_ping).
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      try {
        route.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      } catch {
        return { error: new WardenError('VALIDATION_FAILED', `invalid %-escape in path ${path}`) };
      }
      return { route, params };
    }
    return pathMatched
      ? { error: new WardenError('METHOD_NOT_ALLOWED', `${method} is not supported on ${path}`) }
      : {
          error: new WardenError(
            'ROUTE_NOT_FOUND',
            `page not found: ${method} ${path} is not served by Warden`,
          ),
        };
  }
}

/** `/v1.47/containers/json` → version 1.47, path `/containers/json`. */
export function splitVersion(rawPath: string): { version?: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(rawPath);
  return m ? { version: m[1], path: m[2] } : { path: rawPath };
}

export function parseJsonBody<T>(raw: Buffer): T {
  if (raw.length === 0) return {} as T;
  if (!isUtf8(raw)) throw new WardenError('MALFORMED_JSON', 'request body is not valid UTF-8 (RFC 8259)');
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    return (parsed ?? {}) as T;
  } catch (err) {
    throw new WardenError('MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export async function readAll(stream: Readable, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new WardenError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Replies on an ordinary (not upgraded) request. Attach without Upgrade gets a plain stream. */
export class PlainReply implements DockerReply {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  /** The response itself, for a request handed on to another node as it is (node-forward.ts). */
  get response(): ServerResponse {
    return this.res;
  }

  get started(): boolean {
    return this.res.headersSent;
  }

  json(status: number, body: unknown): void {
    const text = JSON.stringify(body);
    this.res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    this.res.end(this.req.method === 'HEAD' ? undefined : text);
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    this.res.writeHead(status, headers);
    this.res.end();
  }

  text(status: number, headers: Record<string, string>, body: string): void {
    this.res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    this.res.end(this.req.method === 'HEAD' ? undefined : body);
  }

  stream(status: number, contentType: string, headers: Record<string, string> = {}) {
    if (this.res.destroyed || this.req.socket.destroyed) throw new ClientGoneError('stream');
    this.res.writeHead(status, { ...headers, 'Content-Type': contentType });
    this.res.flushHeaders();
    return { out: this.res as Writable, onClose: onceClosed(this.res) };
  }

  hijack(contentType: string): Hijacked {
    const { out, onClose } = this.stream(200, contentType);
    return { out, input: null, head: Buffer.alloc(0), end: () => this.res.end(), onClose };
  }

  websocket(): Promise<WebSocket> {
    throw new WardenError(
      'BAD_REQUEST',
      'this endpoint needs a WebSocket: send Connection: Upgrade, Upgrade: websocket',
    );
  }
}

let wss: WebSocketServer | undefined;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Replies on a connection that asked to be upgraded (`Connection: Upgrade`, `Upgrade: tcp`). */
export class UpgradeReply implements DockerReply {
  private done = false;

  constructor(
    private readonly socket: Duplex,
    /** Bytes after the request body that arrived with it. */
    private head: Buffer,
    private readonly request?: IncomingMessage,
  ) {}

  get started(): boolean {
    return this.done;
  }

  /** Stdin that arrived with the request, after its body. */
  setHead(rest: Buffer): void {
    this.head = rest;
  }

  json(status: number, body: unknown): void {
    const text = JSON.stringify(body);
    this.raw(status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
    });
    this.socket.end(text);
  }

  empty(status: number, headers: Record<string, string> = {}): void {
    this.raw(status, { ...headers, 'Content-Length': '0' });
    this.socket.end();
  }

  stream(): never {
    throw new WardenError('BAD_REQUEST', 'this endpoint does not stream over an upgraded connection');
  }

  hijack(contentType: string): Hijacked {
    if (this.socket.destroyed) throw new ClientGoneError('hijacked stream');
    this.done = true;
    this.socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    const head = this.head;
    this.head = Buffer.alloc(0);
    return {
      out: this.socket,
      input: this.socket,
      head,
      end: () => this.socket.end(),
      onClose: onceClosed(this.socket),
    };
  }

  websocket(): Promise<WebSocket> {
    const req = this.request;
    if (!req || req.headers.upgrade?.toLowerCase() !== 'websocket')
      throw new WardenError('BAD_REQUEST', 'this endpoint needs a WebSocket: send Upgrade: websocket');
    if (this.socket.destroyed) throw new ClientGoneError('WebSocket');
    this.done = true;
    const head = this.head;
    this.head = Buffer.alloc(0);
    wss ??= new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
    // ws drops a socket that is no longer readable and writable without calling back: the
    // socket's close is the only word that the handshake will never finish.
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      const gone = () => reject(new ClientGoneError('WebSocket'));
      socket.once('close', gone);
      wss!.handleUpgrade(req, socket, head, (ws) => {
        socket.off('close', gone);
        resolve(ws);
      });
    });
  }

  private raw(status: number, headers: Record<string, string>): void {
    this.done = true;
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    this.socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${lines.join('')}Connection: close\r\n\r\n`,
    );
  }
}

/**
 * An upgrade request's body (exec start sends `{"Detach":false,"Tty":false}`) is not parsed by
 * Node: it is the first Content-Length bytes after the headers. Whatever follows is the
 * client's stdin and is handed back as `rest`.
 */
export async function readUpgradeBody(
  headers: IncomingHttpHeaders,
  socket: Duplex,
  head: Buffer,
): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(headers['content-length'] ?? 0);
  if (!Number.isFinite(length) || length < 0 || length > MAX_BODY_BYTES)
    throw new WardenError('BAD_REQUEST', `invalid Content-Length '${headers['content-length']}'`);
  let buf = head;
  while (buf.length < length) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => {
        cleanup();
        resolve(d);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (!chunk) throw new WardenError('BAD_REQUEST', 'connection closed before the request body arrived');
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, length), rest: buf.subarray(length) };
}
