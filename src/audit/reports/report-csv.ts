import type { ComplianceReport } from './compliance-report.types';
import { egressAllowlistText } from './exposure';

/** RFC 4180: quote when needed, double the quotes; objects as compact JSON. */
function cell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvTable(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** One CSV per section, for sampling in a spreadsheet. */
export function reportCsvFiles(r: ComplianceReport): Array<{ name: string; content: string }> {
  return [
    {
      name: 'decisions-by-day.csv',
      content: csvTable(
        ['day', 'launches', 'pulls', 'allowed', 'allowed_by_exception', 'denied', 'would_deny'],
        r.population.decisionsByDay.map((d) => [
          d.day,
          d.launches,
          d.pulls,
          d.allowed,
          d.allowedByException,
          d.denied,
          d.wouldDeny,
        ]),
      ),
    },
    {
      name: 'reasons-by-rule.csv',
      content: csvTable(
        ['rule', 'denied', 'would_deny', 'waived', 'example'],
        r.reasonsByRule.map((x) => [x.rule, x.denied, x.wouldDeny, x.waived, x.example]),
      ),
    },
    {
      name: 'exceptions.csv',
      content: csvTable(
        ['exception_id', 'rule', 'requester', 'approver', 'ticket', 'expires_at', 'uses'],
        r.exceptions.map((e) => [
          e.exceptionId,
          e.rule,
          e.requester,
          e.approver,
          e.ticket,
          e.expiresAt,
          e.uses,
        ]),
      ),
    },
    {
      name: 'policy-changes.csv',
      content: csvTable(
        ['time', 'principal', 'type', 'policy', 'version_id', 'diff', 'detail'],
        r.policyChanges.map((c) => [
          c.time,
          c.principal,
          c.type,
          c.policy,
          c.versionId,
          c.diff ?? '',
          c.detail,
        ]),
      ),
    },
    {
      name: 'cap-hits.csv',
      content: csvTable(
        [
          'time',
          'container_id',
          'name',
          'image',
          'oom_killed',
          'oom_kills',
          'throttled_periods',
          'exit_code',
        ],
        r.capHits.map((c) => [
          c.time,
          c.containerId,
          c.name,
          c.image,
          c.oomKilled,
          c.oomKills,
          c.throttledPeriods,
          c.exitCode,
        ]),
      ),
    },
    {
      name: 'exposure.csv',
      content: csvTable(
        // New columns go last: a reader of the earlier columns by position reads on.
        [
          'container_id',
          'name',
          'image',
          'networks',
          'published',
          'egress_bps',
          'ingress_bps',
          'egress_allowlist',
        ],
        r.exposure.map((e) => [
          e.containerId,
          e.name,
          e.image,
          e.networks.join(' '),
          e.published.join(' '),
          e.egressBps,
          e.ingressBps,
          egressAllowlistText(e.egress),
        ]),
      ),
    },
    {
      name: 'images.csv',
      content: csvTable(
        ['registry', 'image', 'digest', 'launches', 'pulls'],
        r.images.map((i) => [i.registry, i.image, i.digest, i.launches, i.pulls]),
      ),
    },
    {
      name: 'showback.csv',
      content: csvTable(
        [
          'day',
          'key',
          'cpu_seconds',
          'memory_gb_hours',
          'peak_memory_bytes',
          'requested_memory_bytes',
          'peak_volume_bytes',
        ],
        r.showback.rows.map((s) => [
          s.day,
          s.key,
          s.cpuSeconds.toFixed(3),
          s.memoryGbHours.toFixed(6),
          s.peakMemoryBytes,
          s.requestedMemoryBytes,
          s.peakVolumeBytes,
        ]),
      ),
    },
  ];
}
