import PDFDocument from 'pdfkit';
import type { ComplianceReport } from './compliance-report.types';
import { egressAllowlistText } from './exposure';

const MARGIN = 50;
const COLORS = {
  allowed: '#2e7d32',
  allowedByException: '#f9a825',
  wouldDeny: '#ef6c00',
  denied: '#c62828',
} as const;

// PDFKit wraps a line by measuring ever longer prefixes of a word that does not fit, so one
// long unbroken word costs time quadratic in its length: a 1 MiB label took minutes (issue
// 13). Every free text is cut to a bound here (report.json and the CSVs keep it whole) and
// broken into runs PDFKit never has to split by itself, which keeps a render linear.
export const PDF_TEXT_MAX = 2000;
const PDF_CELL_MAX = 120;
const RUN = 60;
const CELL_LINES = 4;
const ROW_GAP = 3;

/** `text` at most `max` characters, its unbroken runs cut into lines of RUN characters. */
export function pdfText(text: string, max = PDF_TEXT_MAX): string {
  const cut =
    text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters in report.json)` : text;
  return cut.replace(new RegExp(`\\S{${RUN + 1},}`, 'gu'), (run) =>
    run.match(new RegExp(`.{1,${RUN}}`, 'gsu'))!.join('\n'),
  );
}

/** A table cell's text: at most PDF_CELL_MAX characters (rows() wraps and ellipsises it). */
function cellText(v: unknown): string {
  const s = String(v ?? '');
  return s.length > PDF_CELL_MAX ? `${s.slice(0, PDF_CELL_MAX - 1)}…` : s;
}

/** A report a person can read: summary, a chart of decisions per day, then each section. */
export function renderReportPdf(r: ComplianceReport): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: MARGIN,
      info: { Title: `Warden compliance report ${r.id}`, Author: 'Warden' },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    doc.fontSize(20).text('Warden compliance report');
    doc.moveDown(0.3).fontSize(10).fillColor('#555');
    doc.text(
      pdfText(
        `Window: ${r.params.from} to ${r.params.to}${r.params.team ? `   team: ${r.params.team}` : ''}${r.params.label ? `   label: ${r.params.label}` : ''}`,
      ),
    );
    doc.text(`Generated ${r.generatedAt}   report ${r.id}`);
    const chainLine = r.chain.verified
      ? `Audit chain verified: ${r.chain.rows} rows; head at window end seq ${r.chain.headAtWindowEnd?.seq ?? '-'} ${r.chain.headAtWindowEnd?.hash ?? ''}`
      : `AUDIT CHAIN BROKEN: ${JSON.stringify(r.chain.firstBroken)}`;
    doc.fillColor(r.chain.verified ? '#2e7d32' : '#c62828').text(pdfText(chainLine));
    doc.fillColor('black').moveDown();

    heading(doc, 'Population');
    const p = r.population;
    keyValues(doc, [
      ['Launch decisions', p.launches],
      ['Pull decisions', p.pulls],
      ['Allowed', p.allowed],
      ['Allowed by exception', p.allowedByException],
      ['Denied', p.denied],
      ['Would deny (audit mode)', p.wouldDeny],
      ['Containers created / exited', `${p.containersCreated} / ${p.containersDied}`],
    ]);
    chart(doc, r);

    heading(doc, 'Reasons by rule');
    rows(
      doc,
      ['rule', 'denied', 'would deny', 'waived'],
      r.reasonsByRule.map((x) => [x.rule, x.denied, x.wouldDeny, x.waived]),
    );
    heading(doc, 'Exceptions used');
    rows(
      doc,
      ['rule', 'approver', 'requester', 'ticket', 'expires', 'uses'],
      r.exceptions.map((e) => [e.rule, e.approver, e.requester, e.ticket, e.expiresAt?.slice(0, 16), e.uses]),
    );
    heading(doc, 'Policy changes');
    for (const c of r.policyChanges) {
      doc
        .fontSize(9)
        .text(
          pdfText(
            `${c.time.slice(0, 19)}  ${c.principal}  ${c.type}  ${c.policy}${c.versionId ? ` ${c.versionId.slice(0, 12)}` : ''}`,
          ),
        );
      for (const d of c.diff ?? [])
        doc
          .fillColor('#555')
          .text(pdfText(`      ${d.path}: ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}`))
          .fillColor('black');
    }
    if (!r.policyChanges.length) doc.fontSize(9).text('none');
    heading(doc, 'Containers that hit their caps');
    rows(
      doc,
      ['time', 'container', 'image', 'OOM killed', 'throttled periods'],
      r.capHits.map((c) => [
        c.time.slice(0, 19),
        c.name ?? c.containerId.slice(0, 12),
        c.image,
        c.oomKilled ? 'yes' : 'no',
        c.throttledPeriods,
      ]),
    );
    heading(doc, 'Network exposure');
    rows(
      doc,
      ['container', 'networks', 'published', 'egress cap', 'ingress cap', 'egress allowlist'],
      r.exposure.map((e) => [
        e.name ?? e.containerId.slice(0, 12),
        e.networks.join(' '),
        e.published.join(' '),
        e.egressBps === undefined ? '' : mbit(e.egressBps),
        e.ingressBps === undefined ? '' : mbit(e.ingressBps),
        egressAllowlistText(e.egress),
      ]),
    );
    heading(doc, 'Images');
    rows(
      doc,
      ['registry', 'image', 'digest', 'launches', 'pulls'],
      r.images.map((i) => [i.registry, i.image, i.digest?.slice(0, 19) ?? '', i.launches, i.pulls]),
    );
    heading(doc, 'Usage showback');
    rows(
      doc,
      ['day', 'key', 'CPU s', 'GiB·h', 'peak MiB', 'cap MiB', 'volumes MiB'],
      r.showback.rows.map((s) => [
        s.day,
        s.key,
        s.cpuSeconds.toFixed(1),
        s.memoryGbHours.toFixed(4),
        (s.peakMemoryBytes / 2 ** 20).toFixed(1),
        s.requestedMemoryBytes === null ? '' : (s.requestedMemoryBytes / 2 ** 20).toFixed(0),
        s.peakVolumeBytes === null ? '' : (s.peakVolumeBytes / 2 ** 20).toFixed(1),
      ]),
    );
    doc.moveDown().fontSize(8).fillColor('#555').text(pdfText(r.showback.definition));
    doc.end();
  });
}

function heading(doc: PDFKit.PDFDocument, text: string): void {
  if (doc.y > doc.page.height - 120) doc.addPage();
  doc.moveDown(0.8).fontSize(13).fillColor('black').text(text).moveDown(0.3);
}

function keyValues(doc: PDFKit.PDFDocument, kv: Array<[string, unknown]>): void {
  doc.fontSize(10);
  for (const [k, v] of kv) doc.text(pdfText(`${k}: ${String(v)}`));
}

function rows(doc: PDFKit.PDFDocument, header: string[], body: unknown[][]): void {
  const width = doc.page.width - 2 * MARGIN;
  const col = width / header.length;
  // A cell wraps to at most CELL_LINES lines and is ellipsised past them, and the row is as
  // tall as its tallest cell: PDFKit ellipsises only within a given height, and without one a
  // long cell (ports, an allowlist) ran on over the rows below it.
  const line = (cells: unknown[], bold = false) => {
    doc.fontSize(8).font(bold ? 'Helvetica-Bold' : 'Helvetica');
    const texts = cells.map(cellText);
    const lineHeight = doc.currentLineHeight(true);
    const opts = { width: col - 4, height: lineHeight * CELL_LINES, ellipsis: true };
    const tallest = Math.max(lineHeight, ...texts.map((t) => doc.heightOfString(t, { width: opts.width })));
    const height = Math.min(opts.height, tallest);
    if (doc.y + height > doc.page.height - 58) doc.addPage();
    const y = doc.y;
    texts.forEach((t, i) => doc.text(t, MARGIN + i * col, y, opts));
    doc.x = MARGIN;
    doc.y = y + height + ROW_GAP;
  };
  line(header, true);
  if (body.length === 0) line(['none']);
  for (const r of body.slice(0, 200)) line(r);
  if (body.length > 200) line([`… ${body.length - 200} more rows in the CSV`]);
  doc.font('Helvetica');
}

/** Stacked bars of decisions per day. */
function chart(doc: PDFKit.PDFDocument, r: ComplianceReport): void {
  const days = r.population.decisionsByDay;
  if (!days.length) return;
  const top = doc.y + 10;
  const height = 110;
  const width = doc.page.width - 2 * MARGIN;
  const max = Math.max(...days.map((d) => d.allowed + d.allowedByException + d.wouldDeny + d.denied), 1);
  const bar = Math.min(40, width / days.length - 4);
  days.forEach((d, i) => {
    let y = top + height;
    const x = MARGIN + i * (bar + 4);
    for (const k of ['allowed', 'allowedByException', 'wouldDeny', 'denied'] as const) {
      const h = (d[k] / max) * height;
      if (h > 0) doc.rect(x, y - h, bar, h).fill(COLORS[k]);
      y -= h;
    }
    if (days.length <= 14)
      doc
        .fillColor('black')
        .fontSize(6)
        .text(d.day.slice(5), x, top + height + 2, { width: bar + 4, lineBreak: false });
  });
  doc.fillColor('black');
  let lx = MARGIN;
  for (const [k, c] of Object.entries(COLORS)) {
    doc.rect(lx, top + height + 14, 8, 8).fill(c);
    doc
      .fillColor('black')
      .fontSize(7)
      .text(k, lx + 11, top + height + 14, { lineBreak: false });
    lx += 90;
  }
  doc.x = MARGIN;
  doc.y = top + height + 30;
}

const mbit = (bps: number) => `${+(bps / 1e6).toFixed(3)} Mbit/s`;
