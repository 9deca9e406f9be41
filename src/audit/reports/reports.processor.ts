import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { QueueName } from '../../platform/queue';
import { AuditEventRepository } from '../audit-event.repository';
import { buildComplianceReport } from './compliance-report.builder';
import { reportCsvFiles } from './report-csv';
import { renderReportPdf } from './report-pdf';
import { ReportRepository } from './report.repository';
import { ReportSigner } from './report-signer';
import { ReportsJob, ReportsJobName } from './reports.jobs';

/** Generates reports in the worker role: JSON (signed), one CSV per section, and a PDF. */
@Processor(QueueName.Reports)
export class ReportsProcessor extends WorkerHost {
  private readonly log = new Logger('reports');
  private readonly signer: ReportSigner;

  constructor(
    private readonly reports: ReportRepository,
    private readonly events: AuditEventRepository,
    private readonly ds: DataSource,
    @Inject(WARDEN_CONFIG) config: WardenConfig,
  ) {
    super();
    this.signer = new ReportSigner(config.dataDir);
  }

  async process(job: Job): Promise<void> {
    const j = { name: job.name, data: job.data } as ReportsJob;
    if (j.name !== ReportsJobName.Generate) throw new Error(`unknown reports job ${String(job.name)}`);
    const record = await this.reports.get(j.data.reportId);
    if (!record) return; // deleted meanwhile
    await this.reports.setStatus(record.id, 'running');
    try {
      const report = this.signer.sign(
        await buildComplianceReport(this.ds, this.events, record.id, record.params),
      );
      const json = Buffer.from(JSON.stringify(report, null, 2));
      const pdf = await renderReportPdf(report);
      await this.reports.saveFiles(record.id, [
        { name: 'report.json', contentType: 'application/json', data: json },
        ...reportCsvFiles(report).map((f) => ({
          name: f.name,
          contentType: 'text/csv; charset=utf-8',
          data: Buffer.from(f.content),
        })),
        { name: 'report.pdf', contentType: 'application/pdf', data: pdf },
      ]);
      await this.reports.setStatus(record.id, 'done');
    } catch (err) {
      this.log.error({ err }, `report ${record.id} failed`);
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await this.reports.setStatus(record.id, last ? 'failed' : 'queued', (err as Error).message);
      throw err;
    }
  }
}
