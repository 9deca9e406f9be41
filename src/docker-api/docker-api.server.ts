import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ForwardTickets } from '../fleet';
import { DockerNodeForwarder, FORWARD_PREFIX } from './node-forward';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SocketPrincipalsService } from '../auth';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { WardenError } from '../platform/errors';
import { describeIssues } from '../platform/http';
import type { Caller } from '../platform/http';
import { jsonProblem, urlProblem } from '../platform/http';
import { DOCKER_ROUTE_SCHEMAS, DockerRouteSchema } from './docker-routes.schemas';
import { SYSCALLS } from '../runtime';
import type { Syscalls } from '../runtime';
import { DockerContainerStreamsController } from './container-streams.controller';
import { DockerContainersController } from './containers.controller';
import { dockerError } from './docker-errors';
import {
  ClientGoneError,
  DockerReply,
  DockerRequest,
  DockerRouter,
  parseJsonBody,
  PlainReply,
  readAll,
  readUpgradeBody,
  splitVersion,
  UpgradeReply,
} from './docker-http';
import { DockerEventsController } from './events.controller';
import { DockerExecController } from './exec.controller';
import { DockerImagesController } from './images.controller';
import { DockerNetworksController } from './networks.controller';
import { DockerSystemController, pingHeaders } from './system.controller';
import { DockerVolumesController } from './volumes.controller';
import { DockerArchiveController } from './archive.controller';

type Peer = { uid: number; pid: number } | { subject: string; fingerprint: string } | { error: string };

/**
 * The Docker Engine API on a unix socket (WARDEN_DOCKER_SOCKET): a plain http.Server, so
 * hijacked streams, HEAD /_ping and `/vX.Y` prefixes need no framework workarounds, and the
 * Docker routes never appear on the TCP port. Who is calling is the kernel's answer
 * (SO_PEERCRED), taken once per connection; the socket file is 0660.
 */
@Injectable()
export class DockerApiServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('docker-api');
  private readonly router = new DockerRouter();
  private readonly peers = new WeakMap<Socket, Peer>();
  private readonly sockets = new Set<Socket>();
  private server?: http.Server;
  private tcpServer?: https.Server;
  private readonly handling = new Set<{ request: string }>();

  constructor(
    private readonly principals: SocketPrincipalsService,
    private readonly forwarder: DockerNodeForwarder,
    private readonly tickets: ForwardTickets,
    @Inject(SYSCALLS) private readonly sys: Syscalls,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    system: DockerSystemController,
    containers: DockerContainersController,
    streams: DockerContainerStreamsController,
    exec: DockerExecController,
    images: DockerImagesController,
    events: DockerEventsController,
    networks: DockerNetworksController,
    volumes: DockerVolumesController,
    archive: DockerArchiveController,
    @Optional() private readonly host?: HttpAdapterHost,
  ) {
    for (const c of [system, containers, streams, exec, images, events, networks, volumes, archive])
      c.register(this.router);
    const unchecked = this.router.list().filter((k) => !DOCKER_ROUTE_SCHEMAS[k]);
    if (unchecked.length)
      throw new Error(`docker routes without a schema in docker-routes.schemas.ts: ${unchecked.join(', ')}`);
  }

  /**
   * The requests (`METHOD url`) whose handler has not returned yet: a stream's handler returns
   * when its client leaves, so one that stays after its client is gone is a leak.
   */
  inFlight(): string[] {
    return [...this.handling].map((h) => h.request);
  }

  /** Every route the socket serves (`METHOD /path`), besides `/_ping`. */
  routes(): string[] {
    return this.router.list();
  }

  get socketPath(): string {
    return this.config.dockerSocket;
  }

  async onApplicationBootstrap(): Promise<void> {
    const path = this.config.dockerSocket;
    // A socket file left by a crash would make listen fail with EADDRINUSE. Only a socket is
    // removed: a regular file at that path is a configuration mistake worth failing on.
    try {
      if (fs.lstatSync(path).isSocket()) fs.rmSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    fs.mkdirSync(dirname(path), { recursive: true });
    const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 5000 });
    server.on('connection', (socket: Socket) => this.accept(socket));
    this.serve(server);
    // The mode is set before anyone can connect: listen under a umask that leaves 0660.
    const umask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(umask);
    }
    fs.chmodSync(path, 0o660);
    this.server = server;
    this.log.log(`Docker API on unix://${path}`);
    if (this.config.dockerTcp) await this.listenTcp(this.config.dockerTcp);
    this.serveForwardedUpgrades();
  }

  /** Requests and hijacked streams, the same on the unix socket and on TCP. */
  private serve(server: http.Server | https.Server): void {
    server.on('request', (req, res) => void this.handle(req, new PlainReply(req, res)));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined); // a client gone mid-stream is not the service's problem
      void this.handle(req, new UpgradeReply(socket, head, req), { socket, head });
    });
  }

  /**
   * The Docker API on TCP, as `dockerd --tlsverify` serves it: mutual TLS only. The handshake
   * refuses a client without a certificate from the configured CA; the certificate's subject
   * then stands where the socket's peer uid does.
   */
  private async listenTcp(tcp: NonNullable<WardenConfig['dockerTcp']>): Promise<void> {
    const server = https.createServer({
      ca: fs.readFileSync(tcp.ca),
      cert: fs.readFileSync(tcp.cert),
      key: fs.readFileSync(tcp.key),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      requestTimeout: 0,
      keepAliveTimeout: 5000,
    });
    server.on('secureConnection', (socket: TLSSocket) => this.acceptTls(socket));
    server.on('tlsClientError', (err, socket) => {
      this.log.warn(`docker TCP: refused a TLS client from ${socket.remoteAddress}: ${err.message}`);
    });
    this.serve(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tcp.port, tcp.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.tcpServer = server;
    const port = (server.address() as { port: number }).port;
    this.log.log(
      `Docker API on tcp://${tcp.host.includes(':') ? `[${tcp.host}]` : tcp.host}:${port} (mutual TLS)`,
    );
  }

  /** The TCP listener's port (the configured one, or the kernel's pick for port 0). */
  get tcpPort(): number | undefined {
    return (this.tcpServer?.address() as { port: number } | null)?.port;
  }

  private acceptTls(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const cert = socket.getPeerCertificate();
    const cn = cert?.subject?.CN;
    const subject = Array.isArray(cn) ? cn[0] : cn;
    this.peers.set(
      socket,
      socket.authorized && subject
        ? { subject, fingerprint: cert.fingerprint256 }
        : { error: 'the client certificate has no subject CN' },
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    const tcp = this.tcpServer;
    this.tcpServer = undefined;
    const tcpClosed = tcp && new Promise<void>((resolve) => tcp.close(() => resolve()));
    const server = this.server;
    if (!server) {
      for (const s of this.sockets) s.destroy();
      await tcpClosed;
      return;
    }
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Hijacked and streaming connections never go idle on their own.
    for (const s of this.sockets) s.destroy();
    await Promise.all([closed, tcpClosed]);
    fs.rmSync(this.config.dockerSocket, { force: true });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    try {
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (fd === undefined || fd < 0) throw new Error('no file descriptor for the connection');
      const cred = this.sys.peerCredentials(fd);
      this.peers.set(socket, { uid: cred.uid, pid: cred.pid });
    } catch (err) {
      this.peers.set(socket, { error: `SO_PEERCRED failed: ${(err as Error).message}` });
    }
  }

  private async callerOf(socket: Socket, requestId: string): Promise<Caller> {
    const peer = this.peers.get(socket);
    if (!peer || 'error' in peer)
      throw new WardenError(
        'FORBIDDEN',
        `cannot tell who is connected (${peer?.error ?? 'unknown connection'})`,
      );
    const c =
      'subject' in peer
        ? await this.principals.callerForCertificate(peer.subject, peer.fingerprint)
        : await this.principals.callerFor(peer.uid, peer.pid);
    return { ...c, source: { ...c.source, requestId } };
  }

  /**
   * Docker requests another node forwarded here (node-forward.ts), on the HTTP port under
   * FORWARD_PREFIX: the same routes, for the caller that node authenticated (its ticket), and
   * never forwarded again. Plain requests come through Express (mounted in main.ts, the prefix
   * stripped); upgrades through the HTTP server's `upgrade` event.
   */
  forwardedRequests(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    return (req, res) => void this.handle(req, new PlainReply(req, res), undefined, this.ticketCaller(req));
  }

  private serveForwardedUpgrades(): void {
    const server = this.host?.httpAdapter?.getHttpServer?.() as http.Server | undefined;
    server?.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!req.url?.startsWith(`${FORWARD_PREFIX}/`)) return; // the WebSocket attaches' own
      socket.on('error', () => undefined);
      req.url = req.url.slice(FORWARD_PREFIX.length);
      void this.handle(req, new UpgradeReply(socket, head, req), { socket, head }, this.ticketCaller(req));
    });
  }

  private async ticketCaller(req: http.IncomingMessage): Promise<Caller> {
    const found = await this.tickets.callerOf(req.headers);
    if (!found)
      throw new WardenError(
        'UNAUTHENTICATED',
        'a forwarded request needs a valid ticket from the forwarding node',
      );
    return found;
  }

  /** One request, counted in `inFlight` until its handler returns. */
  private async handle(...args: Parameters<DockerApiServer['dispatch']>): Promise<void> {
    const entry = { request: `${args[0].method} ${args[0].url}` };
    this.handling.add(entry);
    await this.dispatch(...args).finally(() => this.handling.delete(entry));
  }

  private async dispatch(
    raw: http.IncomingMessage,
    reply: DockerReply,
    upgrade?: { socket: Duplex; head: Buffer },
    forwarded?: Promise<Caller>,
  ): Promise<void> {
    forwarded?.catch(() => undefined); // answered below, as any caller's failure
    const method = raw.method ?? 'GET';
    let path = raw.url ?? '/';
    // As on REST: the client's X-Request-Id when sane, else a fresh one; audit events carry it.
    const given = raw.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    try {
      const bad = urlProblem(raw.url ?? '/');
      if (bad) throw new WardenError('VALIDATION_FAILED', `invalid request: ${bad}`);
      const url = new URL(raw.url ?? '/', 'http://docker');
      path = splitVersion(url.pathname).path;
      if (path === '/_ping') {
        if (reply instanceof PlainReply) return this.ping(reply);
      }
      const found = this.router.match(method, path);
      if ('error' in found) throw found.error;
      const schema = DOCKER_ROUTE_SCHEMAS[found.route.key];
      const params = checkParams(schema, found.params);
      check('query', schema.query, Object.fromEntries(url.searchParams));
      const socket = raw.socket;
      let caller: Promise<Caller> | undefined;
      const callerOnce = () => {
        caller ??= (forwarded ?? this.callerOf(socket, requestId)).then((c) => {
          const roles = found.route.roles;
          if (roles && !roles.includes(c.principal.role))
            throw new WardenError(
              'FORBIDDEN',
              `${method} ${path} needs role ${roles.join(' or ')}; principal '${c.principal.id}' has role ${c.principal.role}`,
            );
          return c;
        });
        return caller;
      };
      // A container another node runs: that node serves the request (node-forward.ts).
      const node = forwarded
        ? undefined
        : await this.forwarder.target(found.route.key, params, url.searchParams, callerOnce);
      if (node) {
        const to = upgrade ?? { res: (reply as PlainReply).response };
        return await this.forwarder.forward(node, raw, await callerOnce(), to);
      }
      let upgradeBody: Promise<Buffer> | undefined;
      if (upgrade) {
        upgradeBody = readUpgradeBody(raw.headers, upgrade.socket, upgrade.head).then(({ body, rest }) => {
          (reply as UpgradeReply).setHead(rest);
          return body;
        });
        // Read eagerly (stdin may follow the body); a route that never asks for the body must
        // not turn a client that hung up early into an unhandled rejection.
        upgradeBody.catch(() => undefined);
      }
      const req: DockerRequest = {
        method,
        path,
        params,
        query: url.searchParams,
        headers: raw.headers,
        caller: callerOnce,
        json: async <T>() =>
          checkBody<T>(schema, parseJsonBody<T>(upgradeBody ? await upgradeBody : await readAll(raw))),
        stream: () => raw,
      };
      // Every route acts for someone: the caller (and its role) is checked before the handler.
      await req.caller();
      await found.route.handler(req, reply);
    } catch (err) {
      // A client that hung up mid-stream (a `docker save` piped into `head`, a cancelled
      // pull of an export): the stream's write fails, which is the client's choice, not a fault.
      if (err instanceof ClientGoneError || (reply.started && (upgrade?.socket ?? raw.socket).destroyed))
        return this.log.debug(`${method} ${path}: the client left mid-stream (${(err as Error).message})`);
      this.fail(reply, err, method, path);
    }
  }

  /** No caller needed: the CLI negotiates the version first and then shows the real answer. */
  private ping(reply: PlainReply): void {
    reply.text(200, { ...pingHeaders(), 'Content-Type': 'text/plain; charset=utf-8' }, 'OK');
  }

  private fail(reply: DockerReply, err: unknown, method: string, path: string): void {
    const { status, message } = dockerError(err);
    if (status >= 500) this.log.error({ err }, `${method} ${path} failed: ${message}`);
    // A database or kernel error answered 4xx is still worth seeing with its cause.
    else if (!(err instanceof WardenError) || err.cause !== undefined)
      this.log.warn({ err }, `${method} ${path}: ${message}`);
    if (reply.started) return; // mid-stream: the connection's end is all the client gets
    if (status === 304) reply.empty(304);
    else reply.json(status, { message });
  }
}

/** Parses `value` with the route's schema part; 400 naming every bad field. */
function check<T>(where: 'path' | 'query' | 'body', schema: z.ZodType | undefined, value: T): T {
  if (!schema) return value;
  const r = schema.safeParse(value);
  if (r.success) return (where === 'query' ? value : r.data) as T;
  const problems = describeIssues(where, r.error);
  throw new WardenError('VALIDATION_FAILED', `invalid ${where}: ${problems.join('; ')}`, { problems });
}

function checkParams(schema: DockerRouteSchema, params: Record<string, string>): Record<string, string> {
  if (schema.notFound && schema.params && !schema.params.safeParse(params).success)
    throw schema.notFound(params);
  return check('path', schema.params, params);
}

/** A JSON body: NUL-free at any depth, then the route's body schema (values as sent). */
function checkBody<T>(schema: DockerRouteSchema, body: T): T {
  const problem = jsonProblem(body);
  if (problem) throw new WardenError('VALIDATION_FAILED', `invalid body: ${problem}`);
  check('body', schema.body, body);
  return body;
}
