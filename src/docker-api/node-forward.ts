import { Injectable } from '@nestjs/common';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { ExecNodes, NodeForwarder } from '../fleet';
import type { Caller } from '../platform/http';
import { ContainerService } from '../runtime';
import { readUpgradeBody } from './docker-http';
import { DockerExecController } from './exec.controller';

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
  constructor(
    private readonly containers: ContainerService,
    private readonly forwarder: NodeForwarder,
    private readonly execs: DockerExecController,
    private readonly execNodes: ExecNodes,
  ) {}

  /** The node that must serve this route, when it is another one. */
  async target(
    key: string,
    params: Record<string, string>,
    query: URLSearchParams,
    caller: () => Promise<Caller>,
  ): Promise<string | undefined> {
    // Held here, or by the node that recorded it (any exec made anywhere in the fleet).
    if (EXEC_ROUTES.has(key))
      return this.execs.has(params.id) ? undefined : this.execNodes.elsewhere(params.id);
    const ref =
      key === 'POST /commit' ? query.get('container') : CONTAINER_ROUTES.has(key) ? params.id : null;
    // Watched or its start prepared here: the common cases, no read.
    if (!ref || this.containers.servedHere(ref)) return undefined;
    // A container the caller cannot see is the handler's own 404, not ours.
    const c = await this.containers.resolve(ref, await caller()).catch(() => undefined);
    return c && c.node !== this.forwarder.self ? c.node : undefined;
  }

  async forward(node: string, raw: http.IncomingMessage, caller: Caller, to: ForwardTo) {
    const body = 'socket' in to ? await readUpgradeBody(raw.headers, to.socket, to.head) : undefined;
    await this.forwarder.forward(
      node,
      FORWARD_PREFIX + (raw.url ?? '/'),
      raw,
      caller,
      'socket' in to ? { socket: to.socket, body: body?.body, rest: body?.rest } : to,
    );
  }
}
