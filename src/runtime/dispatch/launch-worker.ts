import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { classifyError, WardenError } from '../../platform/errors';
import { INFRASTRUCTURE, Infrastructure } from '../../platform/infrastructure';
import { closeWorker, keepWorkerConnected, workerOptions } from '../../platform/queue';
import { ContainerRepository } from '../container/container.repository';
import { ContainerCreator, dispatchedContainerId } from '../lifecycle/create';
import { KillVerb } from '../lifecycle/kill';
import { RemoveVerb } from '../lifecycle/remove';
import { StartVerb } from '../lifecycle/start';
import { StopVerb } from '../lifecycle/stop';
import { DispatchRepository } from './dispatch.repository';
import { dispatchQueueName, type DispatchJob, type DispatchResult } from './dispatch.jobs';

/** Launches and verbs other nodes send here at once (each waits on its own container's lock). */
const CONCURRENCY = 8;

/**
 * The receiving side of a dispatch (dispatch.jobs.ts has the diagram): this node's queue,
 * consumed only here. A create is claimed with a guarded UPDATE before anything is made, and
 * runs with the decision the sending node recorded (judged once).
 */
@Injectable()
export class LaunchWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('dispatch');
  private worker?: Worker;

  constructor(
    private readonly creator: ContainerCreator,
    private readonly starter: StartVerb,
    private readonly stopper: StopVerb,
    private readonly killer: KillVerb,
    private readonly remover: RemoveVerb,
    private readonly containers: ContainerRepository,
    private readonly repo: DispatchRepository,
    @Inject(INFRASTRUCTURE) private readonly infra: Infrastructure,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  /** After recovery (an earlier bootstrap hook of this module): jobs act on reconciled containers. */
  onApplicationBootstrap(): void {
    this.worker = new Worker(
      dispatchQueueName(this.config.runtime.node),
      (job: Job<DispatchJob>) => this.run(job.data),
      { ...workerOptions(this.infra.redis, this.config.queue), concurrency: CONCURRENCY },
    );
    this.worker.on('error', (err) => this.log.debug(`dispatch worker: ${err.message}`));
    keepWorkerConnected(this.worker, this.log);
    // Warden's worker options leave starting to the owner (autorun: false).
    this.worker.run().catch((err: Error) => this.log.error(`dispatch worker stopped: ${err.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    await closeWorker(this.worker);
  }

  private async run(job: DispatchJob): Promise<DispatchResult> {
    try {
      return { ok: true, container: await this.act(job) };
    } catch (err) {
      const known = classifyError(err);
      // A crash of ours (not a refusal) is thrown: BullMQ retries it, and the claim holds.
      if (!known || known.status >= 500) throw err;
      return { ok: false, code: known.code, message: known.message, detail: known.detail };
    }
  }

  private async act(job: DispatchJob): Promise<unknown> {
    const node = this.config.runtime.node;
    if (job.kind === 'verb') {
      const { caller, id, args } = job;
      switch (job.verb) {
        case 'start':
          return this.starter.start(caller, id);
        case 'stop':
          return this.stopper.stop(caller, id, args.timeoutSec, args.signal);
        case 'kill':
          return this.killer.kill(caller, id, args.signal ?? 'SIGKILL');
        case 'remove':
          return this.remover.remove(caller, id, { force: args.force, volumes: args.volumes });
      }
    }
    const launchId = job.judged.launchRequestId;
    if (!(await this.repo.claim(launchId, node))) {
      // Delivered again (our worker died mid-job, or the sender re-sent): the first run's result.
      const existing = await this.containers.get(dispatchedContainerId(launchId));
      if (existing) return existing;
      const state = await this.repo.state(launchId);
      throw new WardenError(
        'DISPATCH_INTERRUPTED',
        state?.node === node
          ? `launch ${launchId} was claimed by node ${node}, which stopped before creating the container; nothing was created: launch again`
          : `launch ${launchId} was not sent to node ${node}`,
        { launchRequestId: launchId, state: state?.state ?? null },
      );
    }
    try {
      const c = await this.creator.create(job.caller, { ...job.req, node: undefined }, job.judged);
      await this.repo.finished(launchId, c.id);
      return c;
    } catch (err) {
      await this.repo.finished(launchId, null).catch(() => undefined);
      throw err;
    }
  }
}
