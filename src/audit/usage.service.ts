import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { enqueueWithin, QueueName } from '../platform/queue';
import type { UsageSample } from './usage-sample';
import { UsageJobName } from './usage.jobs';

/**
 * The API side of usage records: the runtime's sampler and its exit path hand samples here;
 * the worker's UsageProcessor stores them. jobId = sample id, as for audit events, so an
 * enqueue retried after a Redis hiccup is still one job and one row.
 */
@Injectable()
export class UsageService {
  constructor(@InjectQueue(QueueName.Usage) private readonly queue: Queue) {}

  async record(sample: UsageSample): Promise<void> {
    await enqueueWithin(this.queue, UsageJobName.Sample, sample, { jobId: sample.id });
  }
}
