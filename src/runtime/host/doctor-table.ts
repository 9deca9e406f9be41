import type { DoctorReport } from './doctor-report';

const VALUE_MAX = 48;
const HEADERS = ['CHECK', 'STATUS', 'VALUE', 'MEANING'] as const;

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * `warden doctor` output: aligned columns, MEANING last and unpadded so long explanations
 * run on instead of forcing every row wide. Full values are in the `--json` form.
 */
export function formatDoctorTable(report: DoctorReport): string {
  const rows = report.items.map((i) => [
    i.label,
    i.status.toUpperCase(),
    clip(i.value.replace(/\s+/g, ' '), VALUE_MAX),
    i.meaning,
  ]);
  const all = [[...HEADERS], ...rows];
  const widths = [0, 1, 2].map((c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell)).join('  ');
  const { canRunContainers, reasons } = report.summary;
  const verdict = canRunContainers
    ? 'Containers can run on this host.'
    : ['Containers cannot run on this host:', ...reasons.map((r) => `  - ${r}`)].join('\n');
  return [line(all[0]), ...rows.map(line), '', verdict].join('\n') + '\n';
}
