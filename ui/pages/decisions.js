import { api, filterForm, fmtTime, h, short, table } from '../lib.js';

export async function decisions(view, params) {
  const q = new URLSearchParams({ type: 'policy.decision', order: 'desc', limit: '500' });
  for (const k of ['decision', 'principal']) if (params.get(k)) q.set(k, params.get(k));
  const { events } = await api(`/audit/events?${q}`);
  const rule = params.get('rule') ?? '';
  const reasons = (e) => e.payload.decision?.reasons ?? [];
  const shown = events.filter((e) => !rule || reasons(e).some((r) => r.rule === rule));
  const rules = [...new Set(events.flatMap((e) => reasons(e).map((r) => r.rule)))];
  if (rule && !rules.includes(rule)) rules.push(rule);
  view.append(
    h('h2', {}, 'Decisions'),
    filterForm(
      'decisions',
      [
        {
          name: 'decision',
          label: 'Decision',
          options: ['', 'denied', 'would-deny', 'allowed'].map((d) => [d, d || 'any']),
        },
        { name: 'rule', label: 'Rule', options: ['', ...rules.sort()].map((r) => [r, r || 'any']) },
        { name: 'principal', label: 'Principal', placeholder: 'alice' },
      ],
      params,
    ),
    table(
      'decisions-table',
      ['Time', 'Principal', 'Action', 'Image', 'Decision', 'Policy', 'Reasons'],
      shown.map((e) => {
        const d = e.payload.decision ?? {};
        return h(
          'tr',
          { class: 'decision-row' },
          h('td', {}, h('a', { href: `#event/${e.seq}` }, fmtTime(e.occurredAt))),
          h('td', {}, e.principal),
          h('td', {}, e.payload.action ?? ''),
          h('td', { class: 'mono' }, e.payload.image ?? ''),
          h('td', {}, h('span', { class: `badge ${e.decision}` }, e.decision)),
          h(
            'td',
            { class: 'mono' },
            d.policy && e.policyHash
              ? h(
                  'a',
                  { href: `#policy/${d.policy}?version=${e.policyHash}` },
                  `${d.policy} ${short(e.policyHash)}`,
                )
              : '—',
          ),
          h(
            'td',
            {},
            reasons(e).map((r) => h('div', { class: 'reason' }, h('code', {}, r.rule), ' ', r.message)),
            (d.waived ?? []).map((r) =>
              h('div', { class: 'reason' }, 'waived by exception: ', h('code', {}, r.rule)),
            ),
          ),
        );
      }),
      `${shown.length} decision(s), newest first`,
    ),
  );
}
