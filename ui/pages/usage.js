import { api, filterForm, fmtBytes, h, hbars, table } from '../lib.js';

/** RFC 4180 CSV of rows (arrays); a field with a comma, quote or line break is quoted. */
export function toCsv(rows) {
  const field = (v) => {
    const s = String(v ?? '');
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

export function csvLink(name, rows) {
  const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: 'text/csv' }));
  return h('a', { href: url, download: name, class: 'button' }, `Download ${name}`);
}

export async function usage(view, params) {
  const days = Number(params.get('days') ?? 7);
  const key = params.get('label') || 'team';
  const from = new Date(Date.now() - days * 864e5).toISOString();
  const { rollups } = await api(`/usage?from=${from}&label=${encodeURIComponent(key)}&limit=10000`);
  const byValue = new Map();
  for (const r of rollups) {
    const u = byValue.get(r.value) ?? { value: r.value, cpuSeconds: 0, peak: 0, ooms: 0, containers: 0 };
    u.cpuSeconds += r.cpuSeconds;
    u.peak = Math.max(u.peak, r.memoryPeakBytes);
    u.ooms += r.oomKills;
    u.containers = Math.max(u.containers, r.containers);
    byValue.set(r.value, u);
  }
  const rows = [...byValue.values()].sort((a, b) => b.cpuSeconds - a.cpuSeconds);
  view.append(
    h('h2', {}, `Usage per ${key}, last ${days} days`),
    filterForm(
      'usage',
      [
        { name: 'label', label: 'Label key', value: 'team', placeholder: 'team' },
        { name: 'days', label: 'Days', type: 'number', value: '7' },
      ],
      params,
    ),
    rows.length
      ? hbars(
          rows.slice(0, 20).map((r) => ({
            label: `${key}=${r.value}`,
            value: r.cpuSeconds,
            text: `${r.cpuSeconds.toFixed(1)} CPU-s`,
          })),
          { label: `CPU seconds per ${key}`, width: 800 },
        )
      : h('p', { class: 'muted' }, 'No usage samples in this window.'),
    table(
      'usage-table',
      [key, 'CPU-seconds', 'Peak memory', 'OOM kills', 'Containers (max per hour)'],
      rows.map((r) =>
        h(
          'tr',
          { class: 'usage-row' },
          h('td', {}, r.value),
          h('td', {}, r.cpuSeconds.toFixed(1)),
          h('td', {}, fmtBytes(r.peak)),
          h('td', { class: r.ooms ? 'bad-text' : '' }, String(r.ooms)),
          h('td', {}, String(r.containers)),
        ),
      ),
    ),
    h(
      'p',
      {},
      csvLink(`usage-by-${key}.csv`, [
        [key, 'cpu_seconds', 'memory_peak_bytes', 'oom_kills'],
        ...rows.map((r) => [r.value, r.cpuSeconds, r.peak, r.ooms]),
      ]),
    ),
  );
}
