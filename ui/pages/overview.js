import { api, fmtTime, h, hbars, short, stackedColumns, table } from '../lib.js';

const WINDOWS = [
  ['1h', 'last hour', 3600e3],
  ['24h', 'last 24 hours', 864e5],
  ['7d', 'last 7 days', 7 * 864e5],
  ['30d', 'last 30 days', 30 * 864e5],
];
export const SERIES = [
  { key: 'allowed', label: 'allowed', color: '#2e7d32' },
  { key: 'denied', label: 'denied', color: '#c62828' },
  { key: 'wouldDeny', label: 'would-deny', color: '#b35000' },
];

const card = (title, ...body) => h('section', { class: 'card' }, h('h3', {}, title), ...body);
const stat = (id, label, value, cls = '') =>
  h(
    'div',
    { class: `stat ${cls}`, id },
    h('div', { class: 'stat-value' }, String(value)),
    h('div', {}, label),
  );

export async function overview(view, params) {
  const win = WINDOWS.find(([k]) => k === params.get('window')) ?? WINDOWS[1];
  const to = new Date();
  const from = new Date(to.getTime() - win[2]);
  const o = await api(`/console/overview?from=${from.toISOString()}&to=${to.toISOString()}`);
  const t = o.decisions.totals;
  const chainStatus = h('span', { id: 'chain-verify', class: 'muted' }, 'verifying…');
  view.append(
    h(
      'div',
      { class: 'title-row' },
      h('h2', {}, `Overview, ${win[1]}`),
      h(
        'nav',
        { 'aria-label': 'window', class: 'windows' },
        WINDOWS.map(([k, label]) =>
          h('a', { href: `#overview?window=${k}`, 'aria-current': k === win[0] ? 'page' : null }, label),
        ),
      ),
    ),
    h(
      'div',
      { class: 'stats' },
      stat('stat-allowed', 'allowed', t.allowed, 'ok-text'),
      stat('stat-denied', 'denied', t.denied, 'bad-text'),
      stat('stat-would-deny', 'would-deny (audit mode)', t.wouldDeny, 'warn-text'),
      stat('stat-oom', 'OOM kills', o.containers.oomKills, o.containers.oomKills ? 'bad-text' : ''),
      stat('stat-restarts', 'restarts', o.containers.restarts),
      stat('stat-exits', 'exits', o.containers.exits),
    ),
    card(
      'Decisions over time',
      t.allowed + t.denied + t.wouldDeny
        ? stackedColumns(o.decisions.buckets, SERIES, {
            label: `decisions per ${o.window.bucketSeconds / 60} minutes: allowed, denied, would-deny`,
          })
        : h('p', { class: 'muted' }, 'No decisions in this window.'),
    ),
    h(
      'div',
      { class: 'grid2' },
      card(
        'Most-hit deny rules',
        o.topRules.length
          ? hbars(
              o.topRules.map((r) => ({
                label: r.rule,
                value: r.denied + r.wouldDeny,
                text: `${r.denied} denied · ${r.wouldDeny} would-deny`,
              })),
              { label: 'most-hit deny rules', color: '#c62828' },
            )
          : h('p', { class: 'muted' }, 'No rule denied anything.'),
        h(
          'ul',
          { class: 'links' },
          o.topRules.map((r) =>
            h('li', {}, h('a', { href: `#decisions?rule=${encodeURIComponent(r.rule)}` }, r.rule)),
          ),
        ),
      ),
      card(
        'Teams with most denials',
        o.topTeams.length
          ? hbars(
              o.topTeams.map((x) => ({ label: x.team, value: x.denied })),
              { label: 'teams with most denials' },
            )
          : h('p', { class: 'muted' }, 'No team had a denial.'),
      ),
      card(
        'Images with most denials',
        o.topImages.length
          ? hbars(
              o.topImages.map((x) => ({ label: x.image, value: x.denied })),
              { label: 'images with most denials' },
            )
          : h('p', { class: 'muted' }, 'No image was denied.'),
      ),
      card(
        'Exceptions expiring within 7 days',
        o.exceptionsExpiring.length
          ? table(
              'expiring-table',
              ['Rule', 'Scope', 'Image', 'Expires'],
              o.exceptionsExpiring.map((x) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `#exceptions?id=${x.id}` }, x.rule)),
                  h('td', {}, x.team ? `team ${x.team}` : `principal ${x.principalId}`),
                  h('td', { class: 'mono' }, x.image ?? ''),
                  h('td', {}, fmtTime(x.expiresAt)),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'None.'),
      ),
      card(
        'Audit chain',
        o.chainHead
          ? h(
              'div',
              { id: 'chain-head' },
              chainStatus,
              h(
                'div',
                { class: 'mono' },
                'head ',
                h('a', { href: `#event/${o.chainHead.seq}` }, `seq ${o.chainHead.seq}`),
                ` · ${o.chainHead.hash} · ${fmtTime(o.chainHead.occurredAt)}`,
              ),
            )
          : h('p', { class: 'muted' }, 'The chain is empty.'),
      ),
      card(
        'Queue backlog',
        table(
          'queues-table',
          ['Queue', 'Waiting', 'Active', 'Delayed', 'Failed'],
          o.queues.map((q) =>
            h(
              'tr',
              {},
              h('td', {}, q.name),
              q.error
                ? h('td', { colspan: 4, class: 'error' }, q.error)
                : [q.waiting, q.active, q.delayed, q.failed].map((v, i) =>
                    h('td', { class: i === 3 && v ? 'bad-text' : '' }, String(v)),
                  ),
            ),
          ),
        ),
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      `Window ${fmtTime(o.window.from)} – ${fmtTime(o.window.to)} UTC · chain head ${short(o.chainHead?.hash)}`,
    ),
  );
  // Verifying recomputes every hash: it fills in after the page is up rather than holding it.
  if (o.chainHead)
    api('/audit/verify').then(
      (v) => {
        chainStatus.className = `badge ${v.ok ? 'ok' : 'bad'}`;
        chainStatus.textContent = v.ok ? `verified, ${v.rows} rows` : `BROKEN at seq ${v.firstBroken.seq}`;
      },
      (err) => {
        chainStatus.className = 'error';
        chainStatus.textContent = err.message;
      },
    );
}
