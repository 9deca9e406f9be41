import { api, filterForm, fmtTime, h, table } from '../lib.js';

const TYPES = [
  '',
  'policy.decision',
  'policy.version.created',
  'policy.activated',
  'policy.bound',
  'exception.created',
  'exception.expired',
  'container.created',
  'container.started',
  'container.died',
  'container.removed',
  'image.imported',
  'image.pulled',
  'exec.started',
  'exec.ended',
  'api.call',
];

export async function chain(view, params) {
  const q = new URLSearchParams({ order: 'desc', limit: '100' });
  for (const k of ['type', 'principal', 'subject']) if (params.get(k)) q.set(k, params.get(k));
  if (params.get('before')) q.set('before', params.get('before'));
  const [v, page] = await Promise.all([api('/audit/verify'), api(`/audit/events?${q}`)]);
  const next = new URLSearchParams(params);
  if (page.nextCursor) next.set('before', page.nextCursor);
  view.append(
    h('h2', {}, 'Audit chain'),
    h(
      'div',
      { class: 'card', id: 'chain-status' },
      h('span', { class: `badge ${v.ok ? 'ok' : 'bad'}` }, v.ok ? 'verified' : 'BROKEN'),
      ` ${v.rows} rows`,
      v.head
        ? h(
            'div',
            { class: 'mono' },
            'head ',
            h('a', { href: `#event/${v.head.seq}` }, `seq ${v.head.seq}`),
            ` · ${v.head.hash}`,
          )
        : '',
      v.firstBroken
        ? h(
            'div',
            { class: 'error' },
            'first broken row: ',
            h('a', { href: `#event/${v.firstBroken.seq}` }, `seq ${v.firstBroken.seq}`),
            ` (${v.firstBroken.reason})`,
          )
        : '',
    ),
    filterForm(
      'chain',
      [
        { name: 'type', label: 'Type', options: TYPES.map((t) => [t, t || 'any']) },
        { name: 'principal', label: 'Principal' },
        { name: 'subject', label: 'Subject' },
      ],
      params,
    ),
    table(
      'chain-table',
      ['Seq', 'Time', 'Type', 'Principal', 'Subject', 'Hash'],
      page.events.map((e) =>
        h(
          'tr',
          { class: 'chain-row' },
          h('td', {}, h('a', { href: `#event/${e.seq}` }, String(e.seq))),
          h('td', {}, fmtTime(e.occurredAt)),
          h('td', {}, e.type),
          h('td', {}, e.principal),
          h('td', { class: 'mono' }, e.subject ?? ''),
          h('td', { class: 'mono' }, e.hash.slice(0, 16)),
        ),
      ),
      'newest first',
    ),
    page.nextCursor ? h('p', {}, h('a', { href: `#chain?${next}` }, 'older rows →')) : '',
  );
}
