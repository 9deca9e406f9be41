import * as fs from 'node:fs';
import * as os from 'node:os';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createDataSource } from '../../platform/database';
import { AuditEventRepository } from '../audit-event.repository';
import { buildComplianceReport } from './compliance-report.builder';
import type { ComplianceReport, ReportParams } from './compliance-report.types';
import { reportCsvFiles } from './report-csv';
import { renderReportPdf } from './report-pdf';
import { ReportSigner } from './report-signer';

export interface ReportFile {
  name: string;
  contentType: string;
  data: Buffer;
}

/** One report to generate, as a render thread is given it. */
export interface ReportJobInput {
  id: string;
  params: ReportParams;
  databaseUrl: string;
  dataDir: string;
}

/**
 * The CPU-bound half of a report: the signature (canonical JSON of the whole report), the
 * JSON, one CSV per section and the PDF.
 */
export async function renderReportFiles(report: ComplianceReport, dataDir: string): Promise<ReportFile[]> {
  const signed = new ReportSigner(dataDir).sign(report);
  const json = Buffer.from(JSON.stringify(signed, null, 2));
  const pdf = await renderReportPdf(signed);
  return [
    { name: 'report.json', contentType: 'application/json', data: json },
    ...reportCsvFiles(signed).map((f) => ({
      name: f.name,
      contentType: 'text/csv; charset=utf-8',
      data: Buffer.from(f.content),
    })),
    { name: 'report.pdf', contentType: 'application/pdf', data: pdf },
  ];
}

/**
 * A whole report, from the evidence to its files, on a database connection of its own. It
 * runs in a worker thread (report-render-thread.ts): reading and aggregating every decision
 * in the window, verifying the chain from genesis and rendering are all CPU on the event loop
 * they run on, which must not be the one that commits audit events.
 */
export async function generateReport(job: ReportJobInput): Promise<ReportFile[]> {
  const ds = createDataSource(job.databaseUrl, { poolSize: 1 });
  await ds.initialize();
  try {
    const report = await buildComplianceReport(ds, new AuditEventRepository(ds), job.id, job.params);
    return await renderReportFiles(report, job.dataDir);
  } finally {
    await ds.destroy();
  }
}

/**
 * Below its process's other threads when the CPU is short (the commits, the API): setpriority
 * on a thread id changes that thread alone on Linux. Only a little below: at nice 19 a render
 * on a busy host would barely run at all.
 */
function lowerThisThread(by: number): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + by));
  } catch {
    // not Linux, or /proc not mounted: the render runs at the process's priority
  }
}

/** workerData of a render thread: this module is also the thread's entry. */
export interface RenderThreadData {
  generateReport: ReportJobInput;
}

// As a thread's entry: one report, its answer, then the thread ends.
const job = isMainThread ? undefined : (workerData as Partial<RenderThreadData> | undefined)?.generateReport;
if (job && parentPort) {
  const port = parentPort;
  lowerThisThread(5);
  generateReport(job).then(
    (files) => port.postMessage({ files }),
    (err: Error) => port.postMessage({ error: { message: err.message } }),
  );
}
