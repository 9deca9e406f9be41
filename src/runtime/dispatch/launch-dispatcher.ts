import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Job, Queue, QueueEvents } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { NodeLiveness } from '../../fleet';
import { WardenError } from '../../platform/errors';
import type { ErrorCode } from '../../platform/errors';
import { INFRASTRUCTURE, Infrastructure } from '../../platform/infrastructure';
import { ioredisOptions, producerRedisOptions, QUEUE_PREFIX } from '../../platform/queue';
import { DispatchRepository } from './dispatch.repository';
import { dispatchQueueName, type DispatchJob, type DispatchResult } from './dispatch.jobs';

/** How long a caller waits for another node's answer (a create may unpack an image). */
export const DISPATCH_WAIT_MS = 120_000;

/**
 * The sending side of a dispatch (dispatch.jobs.ts has the diagram): adds the job to the
 * target node's queue and waits for its result, which becomes this request's answer — the
 * container, or the target's own error with its code and status.
 */
@Injectable()
export class LaunchDispatcher implements OnModuleDestroy {
  private readonly targets = new Map<string, { queue: Queue; events: QueueEvents }>();

  constructor(
    private readonly liveness: NodeLiveness,
    private readonly repo: DispatchRepository,
    @Inject(INFRASTRUCTURE) private readonly infra: Infrastructure,
  ) {}

  get self(): string {
    return this.liveness.self;
  }

  /** Sends a judged launch: job id = launch id, so it is queued once however often it is sent. */
  async create(node: string, job: Extract<DispatchJob, { kind: 'create' }>): Promise<unknown> {
    await this.assertUp(node);
    await this.repo.queued(job.judged.launchRequestId, node);
    return this.send(node, job, job.judged.launchRequestId);
  }

  async verb(node: string, job: Extract<DispatchJob, { kind: 'verb' }>): Promise<unknown> {
    await this.assertUp(node);
    return this.send(node, job, randomUUID());
  }

  async assertUp(node: string): Promise<void> {
    if ((await this.liveness.down([node])).has(node))
      throw new WardenError(
        'NODE_UNAVAILABLE',
        `node ${node} is not up (no heartbeat within its window): nothing was sent; GET /nodes lists the fleet`,
        { node },
      );
  }

  private async send(node: string, data: DispatchJob, jobId: string): Promise<unknown> {
    const { queue, events } = await this.target(node);
    let job: Job;
    try {
      job = await queue.add(data.kind, data, {
        jobId,
        // A refusal is a result, not a failure: only a crash of the target is retried, and
        // the claim in launch_requests keeps a retried create from running twice.
        attempts: 3,
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 86_400 },
      });
    } catch (err) {
      throw new WardenError(
        'REDIS_UNAVAILABLE',
        `could not queue the launch for node ${node}: Redis is unavailable`,
        {
          node,
        },
        { cause: err },
      );
    }
    let result: DispatchResult;
    try {
      result = (await job.waitUntilFinished(events, DISPATCH_WAIT_MS)) as DispatchResult;
    } catch (err) {
      const timedOut = /timed out/i.test((err as Error).message);
      throw new WardenError(
        timedOut ? 'DISPATCH_TIMEOUT' : 'DISPATCH_FAILED',
        timedOut
          ? `node ${node} did not answer within ${DISPATCH_WAIT_MS / 1000} s; the job stays queued there (id ${jobId}) and runs at most once`
          : `node ${node} could not run it: ${(err as Error).message}`,
        { node, jobId },
        { cause: err },
      );
    }
    if (!result.ok)
      throw new WardenError(result.code as ErrorCode, result.message, { ...result.detail, node });
    return result.container;
  }

  private async target(node: string): Promise<{ queue: Queue; events: QueueEvents }> {
    let t = this.targets.get(node);
    if (!t) {
      const name = dispatchQueueName(node);
      t = {
        queue: new Queue(name, { connection: producerRedisOptions(this.infra.redis), prefix: QUEUE_PREFIX }),
        events: new QueueEvents(name, { connection: ioredisOptions(this.infra.redis), prefix: QUEUE_PREFIX }),
      };
      t.queue.on('error', () => undefined);
      t.events.on('error', () => undefined);
      this.targets.set(node, t);
    }
    await Promise.all([t.queue.waitUntilReady(), t.events.waitUntilReady()]);
    return t;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.targets.values()].flatMap((t) => [t.queue.close(), t.events.close()]));
    this.targets.clear();
  }
}
