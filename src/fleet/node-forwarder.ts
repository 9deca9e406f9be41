import { Inject, Injectable } from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { FORWARD_HEADER, ForwardTickets } from './forward-tickets';
import { NodeLiveness } from './node-liveness';
import { NodeRepository } from './node.repository';

/**
 * Where the other node's answer goes: the client's response, or its upgraded connection
 * (`body`: the request's body, already read; `rest`: what the client sent after it).
 */
export type ForwardTo = { res: http.ServerResponse } | { socket: Duplex; body?: Buffer; rest?: Buffer };

/**
 * The other node's connection failed in a way that says it is gone (killed, its host down or
 * cut off): its heartbeat has not lapsed yet, but this request cannot wait for that.
 */
const LOST = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A request for a container that another node runs, handed on to that node as it came
 * (method, headers, body, and after a `101` the raw stream both ways), and its answer handed
 * back as it comes. The Docker API (docker-api/node-forward.ts) and REST
 * (runtime/container/rest-node-forward.ts) both forward through here (docs/fleet.md). The
 * other node serves it for the caller this node authenticated: a one-use ticket in Redis,
 * sent in {@link FORWARD_HEADER} instead of the client's own credentials.
 */
@Injectable()
export class NodeForwarder {
  constructor(
    private readonly tickets: ForwardTickets,
    private readonly nodes: NodeRepository,
    private readonly liveness: NodeLiveness,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  get self(): string {
    return this.config.runtime.node;
  }

  /**
   * Sends `raw` to `node` at `path` (with its query) and pipes the answer to `to`; resolves
   * once the other node answered (its headers, or the upgrade). 409 `NODE_UNAVAILABLE` when the
   * node is not up or not reachable (nothing was sent), 504 `DISPATCH_NODE_LOST` when its
   * connection fails as a dead node's does.
   */
  async forward(
    node: string,
    path: string,
    raw: http.IncomingMessage,
    caller: Caller,
    to: ForwardTo,
  ): Promise<void> {
    if ((await this.liveness.down([node])).has(node))
      throw new WardenError(
        'NODE_UNAVAILABLE',
        `the container runs on node ${node}, which is not up (no heartbeat within its window): GET /nodes lists the fleet`,
        { node },
      );
    const address = (await this.nodes.get(node))?.address;
    if (!address)
      throw new WardenError('NODE_UNAVAILABLE', `the container runs on node ${node}, which has no address`, {
        node,
      });
    const url = new URL(path, address);
    const headers: http.OutgoingHttpHeaders = { ...raw.headers, host: url.host };
    delete headers.authorization;
    headers[FORWARD_HEADER] = await this.tickets.issue(caller, this.self);
    const out = (url.protocol === 'https:' ? https : http).request(url, { method: raw.method, headers });
    await new Promise<void>((resolve, reject) => {
      out.once('error', (err) => reject(unreachable(node, err)));
      out.once('response', (res) => {
        resolve();
        if ('res' in to) {
          const headers = { ...res.headers };
          delete headers['x-powered-by'];
          to.res.writeHead(res.statusCode ?? 502, headers);
          // At once, as the other node sent them: `wait` answers its headers before the exit.
          to.res.flushHeaders();
          res.pipe(to.res);
          to.res.once('close', () => res.destroy());
          // The other node gone mid-answer: the client's answer ends too, cut short.
          res.once('error', () => to.res.destroy());
        } else {
          // Refused before any upgrade (a 4xx): the answer as it came, then the connection ends.
          to.socket.write(responseHead(res.statusCode ?? 502, res.statusMessage, res.rawHeaders));
          res.pipe(to.socket);
        }
      });
      out.once('upgrade', (res, remote: Duplex, remoteHead: Buffer) => {
        resolve();
        if (!('socket' in to)) return remote.destroy();
        to.socket.write(responseHead(101, res.statusMessage, res.rawHeaders));
        if (remoteHead.length) to.socket.write(remoteHead);
        if (to.rest?.length) remote.write(to.rest);
        splice(to.socket, remote);
      });
      if ('res' in to) raw.pipe(out);
      else out.end(to.body);
    });
  }
}

function unreachable(node: string, err: NodeJS.ErrnoException): WardenError {
  if (err.code && LOST.has(err.code))
    return new WardenError(
      'DISPATCH_NODE_LOST',
      `the container runs on node ${node}, which did not answer (${err.code}): it has stopped or cannot be reached. ` +
        (err.code === 'ECONNREFUSED'
          ? 'Nothing was done there; '
          : 'It may have acted on the request before it went; ') +
        `look at the container once ${node} is back (GET /nodes)`,
      { node, cause: err.code },
    );
  return new WardenError(
    'NODE_UNAVAILABLE',
    `the container runs on node ${node}, which did not answer: ${err.message}`,
    { node },
  );
}

function responseHead(status: number, message: string | undefined, raw: string[]): string {
  let head = `HTTP/1.1 ${status} ${message ?? ''}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** Both ways until either side ends; a half-close (the client's end of stdin) is passed on. */
function splice(a: Duplex, b: Duplex): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
}
