import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { QueueName } from '../platform/queue';

export interface QueueBacklog {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Set when Redis did not answer in time: the overview still answers, naming it. */
  error?: string;
}

const ANSWER_WITHIN_MS = 1000;

/** How many jobs each queue holds: a growing backlog means the workers are behind or down. */
@Injectable()
export class QueueBacklogs {
  private readonly queues: Queue[];

  constructor(
    @InjectQueue(QueueName.Audit) audit: Queue,
    @InjectQueue(QueueName.Usage) usage: Queue,
    @InjectQueue(QueueName.Reports) reports: Queue,
  ) {
    this.queues = [audit, usage, reports];
  }

  all(): Promise<QueueBacklog[]> {
    return Promise.all(this.queues.map((q) => this.one(q)));
  }

  private async one(q: Queue): Promise<QueueBacklog> {
    const empty = { name: q.name, waiting: 0, active: 0, delayed: 0, failed: 0 };
    let timer: NodeJS.Timeout | undefined;
    const counts = q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${ANSWER_WITHIN_MS} ms`)),
        ANSWER_WITHIN_MS,
      );
    });
    try {
      const c = await Promise.race([counts, late]);
      return {
        ...empty,
        waiting: c.waiting + c.prioritized,
        active: c.active,
        delayed: c.delayed,
        failed: c.failed,
      };
    } catch (err) {
      counts.catch(() => undefined);
      return { ...empty, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
