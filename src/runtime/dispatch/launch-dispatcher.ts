import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Job, Queue, QueueEvents } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { NodeLiveness } from '../../fleet';
import { WardenError } from '../../platform/errors';
import type { ErrorCode } from '../../platform/errors';
import { INFRASTRUCTURE, Infrastructure } from '../../platform/infrastructure';
import { ioredisOptions, producerRedisOptions, QUEUE_PREFIX } from '../../platform/queue';
import { DispatchRepository } from './dispatch.repository';
import {
  dispatchedContainerId,
  dispatchQueueName,
  type DispatchJob,
  type DispatchResult,
} from './dispatch.jobs';

/** How long a caller waits for another node's answer (a create may unpack an image). */
export const DISPATCH_WAIT_MS = 120_000;
/** How often a waiting caller checks that the target still heartbeats. */
const LIVENESS_CHECK_MS = 500;

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
    return this.send(node, job, job.judged.launchRequestId, {
      launchRequestId: job.judged.launchRequestId,
      containerId: dispatchedContainerId(job.judged.launchRequestId),
    });
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

  private async send(
    node: string,
    data: DispatchJob,
    jobId: string,
    launch?: { launchRequestId: string; containerId: string },
  ): Promise<unknown> {
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
    const watch = new AbortController();
    try {
      result = (await Promise.race([
        job.waitUntilFinished(events, DISPATCH_WAIT_MS),
        this.lost(node, jobId, watch.signal, launch),
      ])) as DispatchResult;
    } catch (err) {
      if (err instanceof WardenError) throw err;
      const timedOut = /timed out/i.test((err as Error).message);
      throw new WardenError(
        timedOut ? 'DISPATCH_TIMEOUT' : 'DISPATCH_FAILED',
        timedOut
          ? `node ${node} did not answer within ${DISPATCH_WAIT_MS / 1000} s; the job stays queued there (id ${jobId}) and runs at most once`
          : `node ${node} could not run it: ${(err as Error).message}`,
        { node, jobId },
        { cause: err },
      );
    } finally {
      watch.abort();
    }
    if (!result.ok)
      throw new WardenError(result.code as ErrorCode, result.message, { ...result.detail, node });
    return result.container;
  }

  /**
   * Rejects once the target stops heartbeating while the caller waits (killed, hung, cut off):
   * its job stays in its queue and runs once when it is back, which may be never, so the
   * caller is told now what it can look up later instead of waiting for the whole timeout.
   */
  private async lost(
    node: string,
    jobId: string,
    stop: AbortSignal,
    launch?: { launchRequestId: string; containerId: string },
  ): Promise<never> {
    while (!stop.aborted) {
      await new Promise((r) => setTimeout(r, LIVENESS_CHECK_MS).unref());
      if (stop.aborted || !(await this.liveness.down([node])).has(node)) continue;
      throw new WardenError(
        'DISPATCH_NODE_LOST',
        launch
          ? `node ${node} stopped heartbeating with launch ${launch.launchRequestId} queued for it: it runs once when ${node} is back (never if it is not); ` +
              `the container will be ${launch.containerId} (GET /containers/${launch.containerId}; the launch's story: GET /audit/events?subject=${launch.launchRequestId})`
          : `node ${node} stopped heartbeating with the request queued for it (job ${jobId}): it runs once when ${node} is back; look at the container's state then`,
        { node, jobId, ...launch },
      );
    }
    return new Promise<never>(() => undefined);
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
