import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { WardenError } from '../errors';
import { INFRASTRUCTURE, Infrastructure } from '../infrastructure';

/** How long an enqueue waits for replicas before it is refused (503). */
export const REPLICA_WAIT_MS = 1500;

/**
 * Behind Redis Sentinel a job is acknowledged only once `minReplicas` replicas hold it (Redis
 * `WAIT` on the connection that added it): replication is asynchronous, so a job only the
 * master had is lost when a replica is promoted. With a single server (`minReplicas` 0) this
 * is a no-op: the AOF fsync is the durability there.
 */
@Injectable()
export class ReplicaWait {
  private readonly min: number;

  constructor(@Inject(INFRASTRUCTURE) infra: Infrastructure) {
    this.min = infra.redis.minReplicas ?? 0;
  }

  /** Resolves once `queue`'s connection's writes so far are on enough replicas; else 503. */
  async confirm(queue: Queue): Promise<void> {
    if (this.min === 0) return;
    // BullMQ's client is the ioredis connection its options made (queue.module.ts).
    const client = (await queue.client) as unknown as Redis;
    const acked = await client.wait(this.min, REPLICA_WAIT_MS);
    if (acked < this.min)
      throw new WardenError(
        'REDIS_UNAVAILABLE',
        `Redis took the ${queue.name} job but only ${acked} of ${this.min} replicas confirmed it within ${REPLICA_WAIT_MS} ms, so nothing was done; retry when /health shows Redis up`,
        { server: 'redis', queue: queue.name, replicas: acked, minReplicas: this.min },
      );
  }
}
