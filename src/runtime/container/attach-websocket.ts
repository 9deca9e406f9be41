import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request } from 'express';
import { WebSocketServer } from 'ws';
import { TokenAuthenticator } from '../../auth';
import { ForwardTickets } from '../../fleet';
import { toErrorBody, WardenError } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { AttachSessions, assertAttachable } from './attach-sessions';
import { ContainerInspector } from './container-inspector';
import { ContainerService } from './container.service';
import { parseDetachKeys } from './detach-keys';
import { RestNodeForwarder } from './rest-node-forward';
import { websocketTransport } from './websocket-transport';

const ROUTE = /^\/containers\/([a-zA-Z0-9][a-zA-Z0-9_.-]{0,127})\/attach\/ws$/;
const WRITERS = ['admin', 'deployer'];
const flag = (v: string | null) => v === '1' || v === 'true';

/**
 * REST's interactive attach, `GET /containers/{id}/attach/ws` with `Upgrade: websocket` and
 * the caller's bearer token: the same session as `docker attach` (AttachSessions), raw binary
 * messages out, every message in is stdin; `detachKeys` as Docker's. Query as the Docker API's
 * attach: `stdin`, `stdout`, `stderr` (default on), `logs`. Express never sees the upgrade;
 * the HTTP server's `upgrade` event comes here.
 */
@Injectable()
export class AttachWebSocketServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });

  constructor(
    private readonly tokens: TokenAuthenticator,
    private readonly containers: ContainerService,
    private readonly inspector: ContainerInspector,
    private readonly sessions: AttachSessions,
    private readonly forwarder: RestNodeForwarder,
    private readonly tickets: ForwardTickets,
    @Optional() private readonly host?: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.host?.httpAdapter?.getHttpServer?.() as
      | { on(event: 'upgrade', fn: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): void }
      | undefined;
    server?.on('upgrade', (req, socket, head) => {
      // Docker requests forwarded by another node of the fleet: the Docker API server's.
      if (req.url?.startsWith('/fleet/docker/')) return;
      socket.on('error', () => undefined);
      this.upgrade(req, socket, head).catch((err: unknown) => refuse(req, socket, err));
    });
  }

  beforeApplicationShutdown(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://warden');
    const m = ROUTE.exec(url.pathname);
    if (!m || req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket')
      throw new WardenError('ROUTE_NOT_FOUND', `no WebSocket route ${req.method} ${url.pathname}`);
    // A container another node runs: that node attaches (fleet/node-forwarder.ts).
    if (await this.forwarder.upgrade(req, socket, head)) return;
    const caller = await this.authenticate(req);
    const q = url.searchParams;
    const detachKeys = parseDetachKeys(q.get('detachKeys'));
    const c = await this.containers.resolve(decodeURIComponent(m[1]), caller);
    assertAttachable(c);
    const want = {
      stdout: q.get('stdout') === null || flag(q.get('stdout')),
      stderr: q.get('stderr') === null || flag(q.get('stderr')),
    };
    const stdin = flag(q.get('stdin')) && c.options.openStdin;
    await this.sessions.authorize(caller, c, !!stdin);
    const history = flag(q.get('logs'))
      ? await this.inspector.logs(caller, c.id, { tail: 'all', ...want })
      : [];
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.sessions.run(caller, c, websocketTransport(ws), {
        want,
        stdin,
        history,
        detachKeys,
        encode: (_s, d) => (typeof d === 'string' ? Buffer.from(d) : d),
      }),
    );
  }

  private async authenticate(req: IncomingMessage): Promise<Caller> {
    const caller = await this.callerOf(req);
    if (!WRITERS.includes(caller.principal.role))
      throw new WardenError(
        'FORBIDDEN',
        `attach needs role ${WRITERS.join(' or ')}; principal '${caller.principal.id}' has role ${caller.principal.role}`,
      );
    return caller;
  }

  /** The token's principal, or the caller another node forwarded the attach for (its ticket). */
  private async callerOf(req: IncomingMessage): Promise<Caller> {
    const forwarded = await this.tickets.callerOf(req.headers);
    if (forwarded) return forwarded;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new WardenError('UNAUTHENTICATED', 'no token: send Authorization: Bearer <token>');
    const found = await this.tokens.authenticate(m[1]);
    if (!found) throw new WardenError('UNAUTHENTICATED', 'token not recognised, revoked or expired');
    return {
      principal: found.principal,
      source: { via: 'http', ip: req.socket.remoteAddress, tokenId: found.tokenId },
    };
  }
}

/** An upgrade that is not accepted gets a plain HTTP answer with REST's error body. */
function refuse(req: IncomingMessage, socket: Duplex, err: unknown): void {
  const body = toErrorBody(err, req as unknown as Request);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${body.statusCode} ${body.code}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
