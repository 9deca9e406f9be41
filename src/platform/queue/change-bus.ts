import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { INFRASTRUCTURE, Infrastructure } from '../infrastructure';
import { ioredisOptions } from './redis-endpoint';

/** What changed: each topic names a cache some module keeps per process. */
export type ChangeTopic = 'policy' | 'upstreams';

export const CHANGE_CHANNEL = 'warden:changes';
const PUBLISH_TIMEOUT_MS = 1000;

interface ChangeMessage {
  topic: ChangeTopic;
  /** The process that made the change: it has already dropped its own cache. */
  origin: string;
}

/**
 * Tells every API process on the same Redis that something they cache changed (issue 18:
 * policy and upstream changes reach every node within a second, not at cache expiry). Redis
 * pub/sub: a message reaches the processes subscribed at that moment, so a subscriber whose
 * connection came back (Redis restarted, a network cut) drops every cache it has, as if each
 * topic had been published — what it missed meanwhile is unknowable, and a reload is cheap.
 *
 * Connections are made on first use: a process that neither caches nor changes anything
 * (`warden worker`) holds none.
 */
@Injectable()
export class ChangeBus implements OnModuleDestroy {
  private readonly log = new Logger('changes');
  private readonly origin = randomUUID();
  private readonly handlers = new Map<ChangeTopic, Array<() => void>>();
  private sub?: Redis;
  private pub?: Redis;
  private connectedOnce = false;

  constructor(@Inject(INFRASTRUCTURE) private readonly infra: Infrastructure) {}

  /** Runs `handler` whenever another process publishes `topic` (and after a reconnection). */
  subscribe(topic: ChangeTopic, handler: () => void): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
    if (this.sub) return;
    const sub = new Redis({ ...ioredisOptions(this.infra.redis), lazyConnect: false });
    this.sub = sub;
    sub.on('error', (err: Error) => this.log.debug(`subscriber: ${err.message}`));
    sub.on('ready', () => {
      // ioredis subscribes again by itself on a reconnection (autoResubscribe).
      if (this.connectedOnce) {
        this.log.warn('change subscription reconnected: dropping every cache (changes may have been missed)');
        for (const t of this.handlers.keys()) this.run(t);
      }
      this.connectedOnce = true;
    });
    sub.on('message', (_channel: string, text: string) => {
      let m: ChangeMessage;
      try {
        m = JSON.parse(text) as ChangeMessage;
      } catch {
        return;
      }
      if (m.origin !== this.origin) this.run(m.topic);
    });
    sub.subscribe(CHANGE_CHANNEL).catch((err: Error) => this.log.warn(`subscribe: ${err.message}`));
  }

  /**
   * Tells the other processes. Never throws: the change is already committed in PostgreSQL; if
   * Redis is down the other processes' subscriptions are down too, and they drop their caches
   * when they reconnect.
   */
  async publish(topic: ChangeTopic): Promise<void> {
    if (!this.pub) {
      // Queued while connecting (the first change after start), one try per command after.
      this.pub = new Redis({ ...ioredisOptions(this.infra.redis), maxRetriesPerRequest: 1 });
      this.pub.on('error', (err: Error) => this.log.debug(`publisher: ${err.message}`));
    }
    const message: ChangeMessage = { topic, origin: this.origin };
    const sent = this.pub.publish(CHANGE_CHANNEL, JSON.stringify(message));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Redis did not answer within 1 s')), PUBLISH_TIMEOUT_MS);
    });
    await Promise.race([sent, late])
      .catch((err: Error) => this.log.warn(`could not publish a ${topic} change: ${err.message}`))
      .finally(() => clearTimeout(timer));
  }

  async onModuleDestroy(): Promise<void> {
    for (const c of [this.sub, this.pub]) c?.disconnect();
    this.sub = this.pub = undefined;
  }

  private run(topic: ChangeTopic): void {
    for (const h of this.handlers.get(topic) ?? [])
      try {
        h();
      } catch (err) {
        this.log.warn(`handling a ${topic} change: ${(err as Error).message}`);
      }
  }
}
