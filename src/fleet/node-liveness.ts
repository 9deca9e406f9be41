import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import { LazyRedis } from './lazy-redis';

const KEY_PREFIX = 'warden:node:';
/** A view waits this long for Redis before it shows recorded states as they are. */
const READ_TIMEOUT_MS = 500;
/** Several views in one request (a list, then each row's inspect) share one read. */
const CACHE_MS = 200;

/** Container states that a down node can no longer vouch for: they show `unknown`. */
const LIVE_STATES = new Set(['running', 'paused', 'restarting']);

/**
 * Which nodes are alive: each heartbeats a Redis key whose TTL is the heartbeat window
 * (WARDEN_NODE_HEARTBEAT_TIMEOUT), so a node that stops heartbeating — killed, hung, cut off —
 * is gone from Redis when the window ends, with nobody having to notice it. This process's
 * own node is alive by definition (it is answering). When Redis cannot be read, every node
 * counts as alive: a view then shows recorded states rather than guessing that all are lost.
 */
@Injectable()
export class NodeLiveness implements OnApplicationShutdown {
  private readonly log = new Logger('fleet');
  private readonly redis: LazyRedis;
  private cache = new Map<string, { alive: boolean; at: number }>();

  constructor(
    @Inject(INFRASTRUCTURE) infra: Infrastructure,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {
    this.redis = new LazyRedis(infra, 'liveness');
  }

  get self(): string {
    return this.config.runtime.node;
  }

  private client() {
    return this.redis.client();
  }

  /** This node is alive for another window. */
  async beat(value: string): Promise<void> {
    await this.client().set(KEY_PREFIX + this.self, value, 'PX', this.config.fleet.heartbeatTimeoutMs);
  }

  /** A clean stop: down at once, not at the end of the window. */
  async leave(): Promise<void> {
    await this.client().del(KEY_PREFIX + this.self);
  }

  /** The nodes among `names` whose heartbeat window has passed. */
  async down(names: Iterable<string>): Promise<Set<string>> {
    const now = Date.now();
    const wanted = [...new Set(names)].filter((n) => n !== this.self);
    const unknown = wanted.filter((n) => {
      const hit = this.cache.get(n);
      return !hit || now - hit.at > CACHE_MS;
    });
    if (unknown.length) {
      const values = await this.read(unknown);
      if (values) unknown.forEach((n, i) => this.cache.set(n, { alive: values[i] !== null, at: now }));
      else for (const n of unknown) this.cache.delete(n);
    }
    return new Set(wanted.filter((n) => this.cache.get(n)?.alive === false));
  }

  /** The state a view shows for a container recorded as `state` on `node`. */
  shown(state: string, node: string, down: Set<string>): string {
    return down.has(node) && LIVE_STATES.has(state) ? 'unknown' : state;
  }

  private async read(names: string[]): Promise<Array<string | null> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.client().mget(names.map((n) => KEY_PREFIX + n)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), READ_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.log.warn(`node liveness unreadable (${(err as Error).message}): showing recorded states`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** After every module's destroy hook, so the registry's leave() still has its connection. */
  onApplicationShutdown(): void {
    this.redis.close();
  }
}
