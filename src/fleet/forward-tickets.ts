import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { LazyRedis } from './lazy-redis';

const KEY_PREFIX = 'warden:forward:';
/** The header that carries the forwarding node's ticket (node-forwarder.ts). */
export const FORWARD_HEADER = 'x-warden-forward';
/** A ticket is used at once by the node it was made for; this only bounds a lost one. */
const TICKET_TTL_S = 30;

/**
 * Who a forwarded request acts for. A node that hands a request on to the node that runs the
 * container (docs/fleet.md) cannot pass on the client's own proof (a unix socket's peer uid,
 * a client certificate): it stores the caller it authenticated under a random ticket in Redis,
 * and the other node takes it out again, once. Redis is trusted with callers already (a
 * dispatched launch carries its caller in its job); the ticket adds nothing a node could not
 * do, and is worth nothing after its one use or 30 s.
 */
@Injectable()
export class ForwardTickets implements OnApplicationShutdown {
  private readonly redis: LazyRedis;

  constructor(@Inject(INFRASTRUCTURE) infra: Infrastructure) {
    this.redis = new LazyRedis(infra, 'forward tickets');
  }

  private client() {
    return this.redis.client();
  }

  async issue(caller: Caller, from: string): Promise<string> {
    const ticket = randomBytes(24).toString('base64url');
    await this.client().set(KEY_PREFIX + ticket, JSON.stringify({ caller, from }), 'EX', TICKET_TTL_S);
    return ticket;
  }

  /** The caller a ticket was issued for, once; undefined for an unknown, used or expired one. */
  async redeem(ticket: string): Promise<{ caller: Caller; from: string } | undefined> {
    if (!/^[\w-]{16,64}$/.test(ticket)) return undefined;
    const value = await this.client().getdel(KEY_PREFIX + ticket);
    return value ? (JSON.parse(value) as { caller: Caller; from: string }) : undefined;
  }

  /**
   * The caller of a request another node forwarded here (its ticket header), once; undefined
   * for a request that carries no ticket. A ticket that is unknown, used or expired is a 401.
   */
  async callerOf(headers: IncomingHttpHeaders): Promise<Caller | undefined> {
    const ticket = headers[FORWARD_HEADER];
    if (ticket === undefined) return undefined;
    const found = typeof ticket === 'string' ? await this.redeem(ticket) : undefined;
    if (!found)
      throw new WardenError(
        'UNAUTHENTICATED',
        'a forwarded request needs a valid ticket from the forwarding node',
      );
    return found.caller;
  }

  onApplicationShutdown(): void {
    this.redis.close();
  }
}
