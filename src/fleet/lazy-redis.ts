import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import type { Infrastructure } from '../platform/infrastructure';
import { ioredisOptions } from '../platform/queue';

/**
 * A Redis connection of the fleet's own, made at first use (a role that never asks opens
 * none). A command waits for one reconnection at most: what the fleet asks Redis for is
 * answered now or not at all.
 */
export class LazyRedis {
  private readonly log = new Logger('fleet');
  private redis?: Redis;

  constructor(
    private readonly infra: Infrastructure,
    private readonly what: string,
  ) {}

  client(): Redis {
    if (!this.redis) {
      this.redis = new Redis({ ...ioredisOptions(this.infra.redis), maxRetriesPerRequest: 1 });
      this.redis.on('error', (err: Error) => this.log.debug(`${this.what}: ${err.message}`));
    }
    return this.redis;
  }

  close(): void {
    this.redis?.disconnect();
    this.redis = undefined;
  }
}
