import { Inject, Injectable } from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { ForwardTickets, NodeLiveness, NodeRepository } from '../fleet';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { ContainerService } from '../runtime';
import { readUpgradeBody } from './docker-http';

/**
 * Routes that act on a container's process, shim, files or cgroup: only the node that runs it
 * can serve them. Start, stop, kill and remove go through that node's queue instead
 * (runtime/dispatch): they answer one JSON result, while these stream (logs -f, attach, exec,
 * stats, wait) or hijack the connection.
 */
const CONTAINER_ROUTES = new Set([
  'POST /containers/:id/attach',
  'GET /containers/:id/attach/ws',
  'POST /containers/:id/resize',
  'POST /containers/:id/wait',
  'GET /containers/:id/logs',
  'GET /containers/:id/stats',
  'GET /containers/:id/top',
  'POST /containers/:id/exec',
  'POST /containers/:id/pause',
  'POST /containers/:id/unpause',
  'POST /containers/:id/rename',
  'POST /containers/:id/update',
  'POST /containers/:id/restart',
  'GET /containers/:id/archive',
  'PUT /containers/:id/archive',
  'GET /containers/:id/export',
  'GET /containers/:id/changes',
]);
const EXEC_ROUTES = new Set(['POST /exec/:id/start', 'POST /exec/:id/resize', 'GET /exec/:id/json']);
/** Exec instances created through this node on another one: at most this many remembered. */
const MAX_EXECS = 1024;

/** The path prefix a node serves forwarded Docker requests under, on its HTTP port. */
export const FORWARD_PREFIX = '/fleet/docker';
/** The header that carries the forwarding node's ticket (fleet/forward-tickets.ts). */
export const FORWARD_HEADER = 'x-warden-forward';

/** Where the request goes: the client's response, or its upgraded connection. */
export type ForwardTo = { res: http.ServerResponse } | { socket: Duplex; head: Buffer };

/**
 * A Docker request for a container that another node runs, handed on to that node as it came
 * (method, path, query, body, and after a `101` the raw stream both ways), and its answer
 * handed back as it comes: `docker logs -f`, `attach`, `exec -it`, `stats` and `wait` work from
 * any node of the fleet. The other node serves it under {@link FORWARD_PREFIX} on its HTTP port
 * (its registered address) for the caller this node authenticated (a one-use ticket).
 */
@Injectable()
export class DockerNodeForwarder {
  /** Exec id → node, for exec instances made on another node through this one. */
  private readonly execNodes = new Map<string, string>();

  constructor(
    private readonly containers: ContainerService,
    private readonly tickets: ForwardTickets,
    private readonly nodes: NodeRepository,
    private readonly liveness: NodeLiveness,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  /** The node that must serve this route, when it is another one. */
  async target(
    key: string,
    params: Record<string, string>,
    query: URLSearchParams,
    caller: () => Promise<Caller>,
  ): Promise<string | undefined> {
    if (EXEC_ROUTES.has(key)) return this.execNodes.get(params.id);
    const ref =
      key === 'POST /commit' ? query.get('container') : CONTAINER_ROUTES.has(key) ? params.id : null;
    // Watched here: the common case, no read.
    if (!ref || this.containers.liveContainer(ref)) return undefined;
    // A container the caller cannot see is the handler's own 404, not ours.
    const c = await this.containers.resolve(ref, await caller()).catch(() => undefined);
    return c && c.node !== this.config.runtime.node ? c.node : undefined;
  }

  async forward(node: string, key: string, raw: http.IncomingMessage, caller: Caller, to: ForwardTo) {
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
    const url = new URL(FORWARD_PREFIX + (raw.url ?? '/'), address);
    const headers: http.OutgoingHttpHeaders = { ...raw.headers, host: url.host };
    delete headers.authorization;
    headers[FORWARD_HEADER] = await this.tickets.issue(caller, this.config.runtime.node);
    const body = 'socket' in to ? await readUpgradeBody(raw.headers, to.socket, to.head) : undefined;
    const out = (url.protocol === 'https:' ? https : http).request(url, { method: raw.method, headers });
    const unreachable = (err: Error) =>
      new WardenError(
        'NODE_UNAVAILABLE',
        `the container runs on node ${node}, which did not answer: ${err.message}`,
        {
          node,
        },
      );
    await new Promise<void>((resolve, reject) => {
      out.once('error', (err) => reject(unreachable(err)));
      out.once('response', (res) => {
        resolve();
        if (key === 'POST /containers/:id/exec' && res.statusCode === 201) this.rememberExec(res, node);
        if ('res' in to) {
          const headers = { ...res.headers };
          delete headers['x-powered-by'];
          to.res.writeHead(res.statusCode ?? 502, headers);
          // At once, as the other node sent them: `wait` answers its headers before the exit.
          to.res.flushHeaders();
          res.pipe(to.res);
          to.res.once('close', () => res.destroy());
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
        if (body?.rest.length) remote.write(body.rest);
        splice(to.socket, remote);
      });
      if ('res' in to) raw.pipe(out);
      else out.end(body?.body);
    });
  }

  private rememberExec(res: http.IncomingMessage, node: string): void {
    const chunks: Buffer[] = [];
    res.on('data', (d: Buffer) => chunks.push(d));
    res.once('end', () => {
      try {
        const id = (JSON.parse(Buffer.concat(chunks).toString()) as { Id?: unknown }).Id;
        if (typeof id !== 'string') return;
        if (this.execNodes.size >= MAX_EXECS) this.execNodes.delete(this.execNodes.keys().next().value!);
        this.execNodes.set(id, node);
      } catch {
        // not the answer we know: nothing to remember
      }
    });
  }
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
