import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ComplianceReport } from './compliance-report.types';
import { pdfText, renderReportPdf } from './report-pdf';
import { renderReportFiles } from './report-render';
import { generateInThread, ReportRenderError } from './report-render-thread';
import { ReportSigner, verifyReport } from './report-signer';

const report = (label?: string): ComplianceReport =>
  ({
    kind: 'warden.compliance-report/v1',
    id: 'r-1',
    generatedAt: '2026-01-02T00:00:00.000Z',
    params: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', ...(label ? { label } : {}) },
    population: {
      launches: 1,
      pulls: 0,
      allowed: 1,
      allowedByException: 0,
      denied: 0,
      wouldDeny: 0,
      containersCreated: 1,
      containersDied: 1,
      decisionsByDay: [
        {
          day: '2026-01-01',
          launches: 1,
          pulls: 0,
          allowed: 1,
          allowedByException: 0,
          denied: 0,
          wouldDeny: 0,
        },
      ],
    },
    reasonsByRule: [],
    exceptions: [],
    policyVersionsActive: [],
    policyChanges: [],
    capHits: [],
    exposure: [
      {
        containerId: 'c'.repeat(64),
        name: 'web',
        image: 'busybox:1.35',
        networks: ['front'],
        published: ['127.0.0.1:8080->80/tcp'],
        egressBps: 10_000_000,
        egress: ['10.0.0.0/8:443/tcp', '192.168.1.5'],
      },
    ],
    images: [{ registry: 'x'.repeat(5000), image: 'busybox:1.35', digest: null, launches: 1, pulls: 0 }],
    showback: { definition: 'working set', rows: [] },
    chain: { verified: true, rows: 1, rowsInWindow: 1, headAtWindowEnd: { seq: 1, hash: 'a'.repeat(64) } },
  }) as ComplianceReport;

describe('report PDF text', () => {
  it('cuts free text to a bound and breaks unbroken runs PDFKit would split char by char', () => {
    const out = pdfText(`label: k=${'x'.repeat(1 << 20)}`);
    expect(out.length).toBeLessThan(2200);
    expect(out).toContain('more characters in report.json');
    for (const run of out.split(/\s/)) expect(run.length).toBeLessThanOrEqual(60);
    expect(pdfText('a short line stays as it is')).toBe('a short line stays as it is');
  });

  it('renders a report whose label is 1 MiB in bounded time (it took minutes: issue 13)', async () => {
    const t = Date.now();
    const pdf = await renderReportPdf(report(`k=${'x'.repeat(1 << 20)}`));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(Date.now() - t).toBeLessThan(10_000);
  });
});

describe('report files', () => {
  let dataDir: string;
  beforeAll(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-render-'))));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('are every section, the JSON signed with the data dir key', async () => {
    const files = await renderReportFiles(report('owner=dana'), dataDir);
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'report.json',
        'report.pdf',
        'decisions-by-day.csv',
        'images.csv',
        'exposure.csv',
      ]),
    );
    const json = files.find((f) => f.name === 'report.json')!.data.toString();
    expect(verifyReport(json, new ReportSigner(dataDir).publicKeyPem)).toBe(true);
    expect(JSON.parse(json).params.label).toBe('owner=dana');
    expect(files.find((f) => f.name === 'exposure.csv')!.data.toString()).toContain(
      `${'c'.repeat(64)},web,busybox:1.35,front,127.0.0.1:8080->80/tcp,10000000,,10.0.0.0/8:443/tcp 192.168.1.5`,
    );
    expect(
      files
        .find((f) => f.name === 'report.pdf')!
        .data.subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
  });
});

// The thread's happy path needs PostgreSQL: test/integration/report-isolation.test.ts.
describe('generating in a worker thread', () => {
  const job = {
    id: 'r-1',
    params: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
    databaseUrl: 'postgres://warden:x@127.0.0.1:1/warden', // nothing listens on port 1
    dataDir: os.tmpdir(),
  };

  it('answers what failed in the thread, to be retried (the database may be back then)', async () => {
    const err = await generateInThread(job, 60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportRenderError);
    expect((err as ReportRenderError).final).toBe(false);
    expect((err as Error).message).toMatch(/generating failed: .*ECONNREFUSED/);
  });

  it('stops a report that overruns, as final', async () => {
    const err = await generateInThread(job, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportRenderError);
    expect((err as ReportRenderError).final).toBe(true);
    expect((err as Error).message).toMatch(/longer than/);
  });
});
