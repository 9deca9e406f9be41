import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TokenAuthenticator } from '../../auth';
import { FORWARD_HEADER, NodeForwarder } from '../../fleet';
import { toErrorBody } from '../../platform/errors';
import type { Caller } from '../../platform/http';
import { ContainerService } from './container.service';

/**
 * REST routes that act on a container's process, shim, files or network namespace: only the
 * node that runs it can serve them, as on the Docker API (docker-api/node-forward.ts).
 * Start, stop, kill and remove go through that node's queue instead (ContainerService, as
 * Docker's do); inspect, usage and the lists read the shared database.
 */
const ROUTES: Array<[method: string, verb: RegExp]> = [
  ['POST', /^(restart|pause|unpause|wait|exec|resize|networks)$/],
  ['GET', /^(logs|stats|top|attach\/ws)$/],
  ['DELETE', /^networks\/[^/]+$/],
];
const PATH = /^\/containers\/([^/]+)\/(.+)$/;

/**
 * A REST request for a container that another node runs is handed on to that node as it came
 * (fleet/node-forwarder.ts, the Docker API's forwarding): the same path, method, query and
 * body, for the caller this node authenticated (a one-use ticket in place of the token), and
 * the other node's answer — its status, headers and body — is this request's answer. A
 * request that carries a ticket was forwarded here and is served here (never forwarded again).
 *
 * Mounted before the body is read (main.ts), so the body is passed on as it came; the
 * WebSocket attach comes through {@link upgrade} from its own server (attach-websocket.ts).
 */
@Injectable()
export class RestNodeForwarder {
  constructor(
    private readonly containers: ContainerService,
    private readonly tokens: TokenAuthenticator,
    private readonly forwarder: NodeForwarder,
  ) {}

  middleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      this.target(req)
        .then(async (target) => {
          if (!target) return next();
          await this.forwarder.forward(target.node, req.originalUrl, req, target.caller, { res });
        })
        .catch((err: unknown) => {
          if (res.headersSent) return void res.destroy();
          const body = toErrorBody(err, req);
          res.status(body.statusCode).json(body);
        });
    };
  }

  /** The WebSocket attach of a container another node runs: forwarded, or false (served here). */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const target = await this.target(req);
    if (!target) return false;
    await this.forwarder.forward(target.node, req.url ?? '/', req, target.caller, { socket, rest: head });
    return true;
  }

  /**
   * The node and caller when the route acts on a container that another node runs. Whatever
   * this cannot settle (no or a bad token, a container the caller cannot see) is left to the
   * route itself, which answers as it always does.
   */
  private async target(req: IncomingMessage): Promise<{ node: string; caller: Caller } | undefined> {
    if (req.headers[FORWARD_HEADER] !== undefined) return undefined;
    const path = new URL(req.url ?? '/', 'http://warden').pathname;
    const m = PATH.exec(path);
    if (!m || !ROUTES.some(([method, verb]) => method === req.method && verb.test(m[2]))) return undefined;
    const ref = safeDecode(m[1]);
    // Watched or its start prepared here: the common cases, no read.
    if (!ref || this.containers.servedHere(ref)) return undefined;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const found = token ? await this.tokens.authenticate(token) : undefined;
    if (!found) return undefined;
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    // The other node logs and answers under the same id (it echoes X-Request-Id).
    req.headers['x-request-id'] = requestId;
    const caller: Caller = {
      principal: found.principal,
      source: { via: 'http', ip: req.socket.remoteAddress, tokenId: found.tokenId, requestId },
    };
    const c = await this.containers.resolve(ref, caller).catch(() => undefined);
    return c && c.node !== this.forwarder.self ? { node: c.node, caller } : undefined;
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
