import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { QueueName } from '../../platform/queue';
import { AuditEventRepository } from '../audit-event.repository';
import { buildComplianceReport } from './compliance-report.builder';
import { renderInThread, ReportRenderError } from './report-render-thread';
import { ReportRepository } from './report.repository';
import { ReportsJob, ReportsJobName } from './reports.jobs';

/**
 * Generates reports in the worker role: JSON (signed), one CSV per section, and a PDF. Its own
 * queue, one report at a time; the evidence is read here a page at a time (yielding between
 * pages), and everything CPU-bound after it — signing, encoding, the PDF — runs in a worker
 * thread, so the audit processor on this event loop keeps committing while a report renders.
 */
@Processor(QueueName.Reports, { concurrency: 1 })
export class ReportsProcessor extends WorkerHost {
  private readonly log = new Logger('reports');
  private readonly dataDir: string;

  constructor(
    private readonly reports: ReportRepository,
    private readonly events: AuditEventRepository,
    private readonly ds: DataSource,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
  ) {
    super();
    this.dataDir = config.dataDir;
  }

  async process(job: Job): Promise<void> {
    const j = { name: job.name, data: job.data } as ReportsJob;
    if (j.name !== ReportsJobName.Generate) throw new Error(`unknown reports job ${String(job.name)}`);
    const record = await this.reports.get(j.data.reportId);
    if (!record) return; // deleted meanwhile
    await this.reports.setStatus(record.id, 'running');
    try {
      const report = await buildComplianceReport(this.ds, this.events, record.id, record.params);
      await this.reports.saveFiles(record.id, await renderInThread(report, this.dataDir));
      await this.reports.setStatus(record.id, 'done');
    } catch (err) {
      this.log.error({ err }, `report ${record.id} failed`);
      const final = err instanceof ReportRenderError && err.final;
      const last = final || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await this.reports.setStatus(record.id, last ? 'failed' : 'queued', (err as Error).message);
      // A render that overran or broke would do the same again: no retry.
      throw final ? Object.assign(new UnrecoverableError((err as Error).message), { cause: err }) : err;
    }
  }
}
