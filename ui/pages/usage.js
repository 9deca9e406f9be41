import { api, download, filterForm, fmtBytes, h, hbars, table } from '../lib.js';

const pct = (x) => (x === null ? '—' : `${Math.round(x * 100)}%`);

export async function usage(view, params) {
  const days = Number(params.get('days') ?? 7);
  const by = params.get('by') || 'team';
  const to = new Date();
  const q = new URLSearchParams({
    from: new Date(to.getTime() - days * 864e5).toISOString(),
    to: to.toISOString(),
    by,
  });
  const u = await api(`/console/usage?${q}`);
  view.append(
    h('h2', {}, `Usage per ${by.replace('label:', 'label ')}, last ${days} days`),
    filterForm(
      'usage',
      [
        {
          name: 'by',
          label: 'Group by (team, image or label:<key>)',
          value: 'team',
          placeholder: 'label:app',
        },
        { name: 'days', label: 'Days', type: 'number', value: '7' },
      ],
      params,
    ),
    u.groups.length
      ? hbars(
          u.groups
            .slice(0, 20)
            .map((g) => ({ label: g.key, value: g.cpuSeconds, text: `${g.cpuSeconds.toFixed(1)} CPU-s` })),
          { label: `CPU seconds per ${by}`, width: 800 },
        )
      : h('p', { class: 'muted' }, 'No usage samples in this window.'),
    table(
      'usage-table',
      [
        by,
        'CPU-seconds',
        'Peak memory',
        'Largest cap',
        'OOM kills',
        'Disk read',
        'Disk written',
        'Volumes',
        'Containers',
        'Oversized (< 25% of cap)',
      ],
      u.groups.map((g) =>
        h(
          'tr',
          { class: 'usage-row' },
          h('td', {}, g.key),
          h('td', {}, g.cpuSeconds.toFixed(1)),
          h('td', {}, fmtBytes(g.memoryPeakBytes)),
          h('td', {}, g.memoryCapBytes ? fmtBytes(g.memoryCapBytes) : '—'),
          h('td', { class: g.oomKills ? 'bad-text' : '' }, String(g.oomKills)),
          h('td', {}, fmtBytes(g.ioReadBytes)),
          h('td', {}, fmtBytes(g.ioWriteBytes)),
          h('td', {}, fmtBytes(g.volumeBytes)),
          h('td', {}, String(g.containers)),
          h('td', { class: g.oversized ? 'warn-text' : '' }, String(g.oversized)),
        ),
      ),
    ),
    h(
      'p',
      {},
      h(
        'button',
        { type: 'button', onclick: () => download(`/console/usage?${q}&format=csv`, `usage-by-${by}.csv`) },
        'Download CSV (one row per container)',
      ),
    ),
    h('h3', {}, 'Right-sizing: peak memory against the cap, per container'),
    table(
      'rightsizing-table',
      [
        'Container',
        'Image',
        by,
        'CPU-seconds',
        'Peak',
        'Cap',
        'Peak / cap',
        'OOM kills',
        'Disk read / written',
        'Volumes (peak)',
      ],
      u.containers.map((c) =>
        h(
          'tr',
          { class: c.oversized ? 'oversized' : '' },
          h('td', {}, h('a', { href: `#container/${c.containerId}` }, c.name)),
          h('td', { class: 'mono' }, c.image),
          h(
            'td',
            {},
            by === 'image' ? c.image : by === 'team' ? (c.team ?? '') : (c.labels[by.slice(6)] ?? ''),
          ),
          h('td', {}, c.cpuSeconds.toFixed(1)),
          h('td', {}, fmtBytes(c.memoryPeakBytes)),
          h('td', {}, fmtBytes(c.memoryCapBytes)),
          h(
            'td',
            {},
            pct(c.capShare),
            c.oversized ? [' ', h('span', { class: 'badge warn' }, 'oversized')] : '',
          ),
          h('td', { class: c.oomKills ? 'bad-text' : '' }, String(c.oomKills)),
          // Null: the host recorded no block I/O for it (no blkio/io controller), not zero bytes.
          h(
            'td',
            {},
            c.ioReadBytes === null ? '—' : `${fmtBytes(c.ioReadBytes)} / ${fmtBytes(c.ioWriteBytes)}`,
          ),
          h('td', {}, fmtBytes(c.volumeBytes)),
        ),
      ),
    ),
  );
}
