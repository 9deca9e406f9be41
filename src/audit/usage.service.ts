import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { QueueName, ReplicaWait } from '../platform/queue';
import { GroupedEnqueuer } from './grouped-enqueuer';
import type { UsageSample } from './usage-sample';
import { MAX_SAMPLES_PER_JOB, usageJobShapes } from './usage.jobs';

/**
 * The API side of usage records: the runtime's sampler and its exit path hand samples here;
 * the worker's UsageProcessor stores them. Samples travel many per job when they arrive
 * together (the sampler's sweep over every running container); each keeps its id, the row's
 * primary key, so an enqueue retried after a Redis hiccup is still one row per sample.
 */
@Injectable()
export class UsageService {
  private readonly enqueuer: GroupedEnqueuer<UsageSample>;

  constructor(@InjectQueue(QueueName.Usage) queue: Queue, replicas: ReplicaWait) {
    this.enqueuer = new GroupedEnqueuer(queue, usageJobShapes, MAX_SAMPLES_PER_JOB, {
      confirm: () => replicas.confirm(queue),
    });
  }

  /** Resolves once the sample is in Redis. */
  async record(sample: UsageSample): Promise<void> {
    await this.enqueuer.send([sample]);
  }

  /** Several samples, one job while they fit in one; resolves once all are in Redis. */
  async recordAll(samples: UsageSample[]): Promise<void> {
    await this.enqueuer.send(samples);
  }
}
