import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ComplianceReport } from './compliance-report.types';
import { reportCsvFiles } from './report-csv';
import { renderReportPdf } from './report-pdf';
import { ReportSigner } from './report-signer';

export interface ReportFile {
  name: string;
  contentType: string;
  data: Buffer;
}

/**
 * Everything a report's files take that is CPU alone: the signature (canonical JSON of the
 * whole report), the JSON, one CSV per section and the PDF. It runs in a worker thread
 * (report-render-thread.ts), never on the event loop that commits audit events.
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

/** workerData of a render thread: this module is also the thread's entry (report-render-thread.ts). */
export interface RenderThreadData {
  renderReport: { report: ComplianceReport; dataDir: string };
}

// As a thread's entry: one render, its answer, then the thread ends.
const job = isMainThread ? undefined : (workerData as Partial<RenderThreadData> | undefined)?.renderReport;
if (job && parentPort) {
  const port = parentPort;
  renderReportFiles(job.report, job.dataDir).then(
    (files) => port.postMessage({ files }),
    (err: Error) => port.postMessage({ error: { message: err.message } }),
  );
}
