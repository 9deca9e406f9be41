import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../../platform/infrastructure';
import { closeWorker, keepWorkerConnected, QueueName } from '../../platform/queue';
import { generateInThread, ReportRenderError } from './report-render-thread';
import { ReportRepository } from './report.repository';
import { ReportsJob, ReportsJobName } from './reports.jobs';

/**
 * Generates reports in the worker role: JSON (signed), one CSV per section, and a PDF. Its own
 * queue, one report at a time, each generated whole — evidence, chain verification, signing,
 * encoding, the PDF — in a worker thread, so the audit processor on this event loop keeps
 * committing while a report renders.
 */
@Processor(QueueName.Reports, { concurrency: 1 })
export class ReportsProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('reports');

  constructor(
    private readonly reports: ReportRepository,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    @Inject(INFRASTRUCTURE) private readonly infra: Infrastructure,
  ) {
    super();
  }

  /** The worker exists once the module is initialised (@nestjs/bullmq builds it then). */
  onApplicationBootstrap(): void {
    keepWorkerConnected(this.worker, this.log);
  }

  /**
   * Bounded (closeWorker), before the HTTP server closes: with Redis down, BullMQ's own close
   * at application shutdown would wait for ever and keep the process alive.
   */
  async onModuleDestroy(): Promise<void> {
    await closeWorker(this.worker);
  }

  /** Without a listener, the worker's 'error' (Redis gone for a moment) would throw. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.log.warn(`reports worker: ${err.message}`);
  }

  async process(job: Job): Promise<void> {
    const j = { name: job.name, data: job.data } as ReportsJob;
    if (j.name !== ReportsJobName.Generate) throw new Error(`unknown reports job ${String(job.name)}`);
    const record = await this.reports.get(j.data.reportId);
    if (!record) return; // deleted meanwhile
    await this.reports.setStatus(record.id, 'running');
    try {
      const files = await generateInThread({
        id: record.id,
        params: record.params,
        databaseUrl: this.infra.databaseUrl,
        dataDir: this.config.dataDir,
      });
      await this.reports.saveFiles(record.id, files);
      await this.reports.setStatus(record.id, 'done');
    } catch (err) {
      this.log.error({ err }, `report ${record.id} failed`);
      const final = err instanceof ReportRenderError && err.final;
      const last = final || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await this.reports.setStatus(record.id, last ? 'failed' : 'queued', (err as Error).message);
      // A report that overran or took its thread down would do the same again: no retry.
      throw final ? Object.assign(new UnrecoverableError((err as Error).message), { cause: err }) : err;
    }
  }
}
