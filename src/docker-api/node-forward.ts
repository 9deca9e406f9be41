import { Injectable } from '@nestjs/common';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { NodeForwarder } from '../fleet';
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

/** Where the request goes: the client's response, or its upgraded connection. */
export type ForwardTo = { res: http.ServerResponse } | { socket: Duplex; head: Buffer };

/**
 * A Docker request for a container that another node runs, handed on to that node as it came
 * (method, path, query, body, and after a `101` the raw stream both ways), and its answer
 * handed back as it comes: `docker logs -f`, `attach`, `exec -it`, `stats` and `wait` work from
 * any node of the fleet. The other node serves it under {@link FORWARD_PREFIX} on its HTTP port
 * (its registered address) for the caller this node authenticated (fleet/node-forwarder.ts).
 */
@Injectable()
export class DockerNodeForwarder {
  /** Exec id → node, for exec instances made on another node through this one. */
  private readonly execNodes = new Map<string, string>();

  constructor(
    private readonly containers: ContainerService,
    private readonly forwarder: NodeForwarder,
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
    return c && c.node !== this.forwarder.self ? c.node : undefined;
  }

  async forward(node: string, key: string, raw: http.IncomingMessage, caller: Caller, to: ForwardTo) {
    const body = 'socket' in to ? await readUpgradeBody(raw.headers, to.socket, to.head) : undefined;
    await this.forwarder.forward(
      node,
      FORWARD_PREFIX + (raw.url ?? '/'),
      raw,
      caller,
      'socket' in to ? { socket: to.socket, body: body?.body, rest: body?.rest } : to,
      (res) => {
        if (key === 'POST /containers/:id/exec' && res.statusCode === 201) this.rememberExec(res, node);
      },
    );
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
