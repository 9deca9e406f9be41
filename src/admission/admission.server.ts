import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { classifyError, databaseUnavailable, redisUnavailable, WardenError } from '../platform/errors';
import { reviewResponse } from './admission-review';
import { resolveAdmissionTls } from './admission-tls';
import { AdmissionService, type Webhook } from './admission.service';

// The API server sends the object and, on UPDATE, the old one: each at most etcd's 1.5 MiB.
const MAX_BODY_BYTES = 8 * 1024 ** 2;

const ROUTES: Record<string, Webhook> = { '/validate': 'validate', '/mutate': 'mutate' };

/**
 * The Kubernetes admission webhooks (issue 18) on their own HTTPS port: the API server is
 * their only client, so nothing else of Warden's is served here and the REST port stays on
 * loopback if it likes. A plain https.Server: two routes and a probe need no framework.
 *
 * Answers: 200 with an AdmissionReview for every review that could be read (a denial is a
 * review's answer, not an error); 400/404/405/413/415 with `{code, message}` for what is not
 * a review; 503 when the decision could not be recorded, which the webhook's
 * `failurePolicy: Fail` turns into a refusal (fail closed).
 */
@Injectable()
export class AdmissionServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('admission');
  private server?: https.Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly admission: AdmissionService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const cfg = this.config.admission;
    if (!cfg) return;
    const tls = resolveAdmissionTls(cfg, this.config.dataDir);
    const server = https.createServer({
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2',
      keepAliveTimeout: 30_000,
      ...(cfg.clientCa
        ? { ca: fs.readFileSync(cfg.clientCa), requestCert: true, rejectUnauthorized: true }
        : {}),
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
    server.on('tlsClientError', (err, socket) =>
      this.log.warn(`refused a TLS client from ${socket.remoteAddress}: ${err.message}`),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.port, cfg.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.log.log(
      `Kubernetes admission webhooks on https://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${this.port}` +
        (tls.caFile
          ? ` (CA bundle for the webhook configurations: ${tls.caFile}; \`warden admission ca-bundle\`)`
          : ''),
    );
  }

  /** The listening port (the configured one, or the kernel's pick for 0); undefined when off. */
  get port(): number | undefined {
    return (this.server?.address() as { port: number } | null)?.port;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // In-flight reviews get a moment; the API server retries or fails closed on its own.
    setTimeout(() => this.sockets.forEach((s) => s.destroy()), 2000).unref();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    try {
      if (url === '/healthz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('GET');
        return send(res, 200, { status: 'ok' });
      }
      const webhook = ROUTES[url];
      if (!webhook)
        throw new WardenError(
          'ROUTE_NOT_FOUND',
          `no route ${url} on the admission port: POST /validate or /mutate`,
        );
      if (req.method !== 'POST') throw methodNotAllowed('POST');
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json')
        throw new WardenError(
          'UNSUPPORTED_MEDIA_TYPE',
          `an AdmissionReview is sent as application/json, not ${type || 'without a content type'}`,
        );
      const body = parseJson(await readBody(req));
      const response = await this.admission.review(webhook, body, req.socket.remoteAddress);
      send(res, 200, reviewResponse(response));
    } catch (err) {
      const e =
        err instanceof WardenError
          ? err
          : (databaseUnavailable(err) ??
            redisUnavailable(err) ??
            classifyError(err) ??
            new WardenError(
              'INTERNAL',
              'the review could not be decided; see the Warden log',
              {},
              { cause: err },
            ));
      if (e.status >= 500) this.log.error({ err }, `${req.method} ${url}: ${e.message}`);
      send(res, e.status, {
        code: e.code,
        message: e.message,
        ...(Object.keys(e.detail).length ? { detail: e.detail } : {}),
      });
    }
  }
}

function methodNotAllowed(allow: string): WardenError {
  return new WardenError('METHOD_NOT_ALLOWED', `use ${allow} here`, { allow });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new WardenError(
      'MALFORMED_JSON',
      `the body is not JSON: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(): WardenError {
  return new WardenError(
    'PAYLOAD_TOO_LARGE',
    `an AdmissionReview is at most ${MAX_BODY_BYTES / 1024 ** 2} MiB here (an object is at most 1.5 MiB in etcd)`,
  );
}
