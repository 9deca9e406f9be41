import { execSession } from './exec-session.js';
import { api, filterForm, fmtBytes, fmtTime, h, short, table } from '../lib.js';

const STATES = ['', 'running', 'created', 'exited', 'dead', 'removed'];

export async function containers(view, params) {
  const q = new URLSearchParams({ limit: '500' });
  for (const k of ['state', 'q', 'team']) if (params.get(k)) q.set(k, params.get(k));
  const { containers: list } = await api(`/console/containers?${q}`);
  view.append(
    h('h2', {}, 'Containers'),
    filterForm(
      'containers',
      [
        { name: 'state', label: 'State', options: STATES.map((s) => [s, s || 'any (removed too)']) },
        { name: 'q', label: 'Name, image or id', placeholder: 'web' },
        { name: 'team', label: 'Team label', placeholder: 'payments' },
      ],
      params,
    ),
    table(
      'containers-table',
      ['Name', 'Image', 'State', 'Memory cap', 'CPUs', 'Pids', 'Created', 'Exit', 'By'],
      list.map((c) =>
        h(
          'tr',
          { class: 'container-row' },
          h('td', {}, h('a', { href: `#container/${c.id}` }, c.name)),
          h('td', { class: 'mono' }, c.image),
          h(
            'td',
            {},
            h(
              'span',
              {
                class: `badge ${c.state}`,
                // A down node's container (docs/fleet.md): what its row last recorded.
                title: c.recordedState && `node ${c.node} is down; last recorded ${c.recordedState}`,
              },
              c.state,
            ),
          ),
          h('td', {}, fmtBytes(c.memoryBytes)),
          h('td', {}, c.nanoCpus ? c.nanoCpus / 1e9 : '—'),
          h('td', {}, c.pidsLimit ?? '—'),
          h('td', {}, fmtTime(c.createdAt)),
          h('td', {}, c.exitCode === null ? '' : `${c.exitCode}${c.oomKilled ? ' (OOM killed)' : ''}`),
          h('td', {}, c.createdBy),
        ),
      ),
      `${list.length} container(s)`,
    ),
  );
}

const rowLink = (r) => h('a', { href: `#event/${r.seq}` }, `seq ${r.seq}`);

export async function story(view, _params, id) {
  const s = await api(`/reports/stories/${encodeURIComponent(id)}`);
  const row = (title, r, extra) =>
    r
      ? h(
          'li',
          {},
          h('strong', {}, title),
          ` ${fmtTime(r.occurredAt)} by ${r.principal}`,
          extra ? h('div', {}, extra) : '',
          h('div', { class: 'mono' }, rowLink(r), ` · hash ${r.hash} · prev ${r.prevHash}`),
        )
      : h('li', {}, h('strong', {}, title), ' — none recorded');
  const spec = s.container?.payload.spec ?? {};
  const d = s.decision.payload.decision;
  view.append(
    h('h2', {}, `Story of container ${short(id)}`),
    h(
      'ol',
      { class: 'story card', id: 'story' },
      s.pulls.length
        ? s.pulls.map((p) => row(p.type === 'image.pulled' ? 'Pulled' : 'Imported', p, `${p.subject ?? ''}`))
        : row('Image origin', null),
      row(
        'Decision',
        s.decision,
        h(
          'span',
          {},
          `${d.allowed ? 'allowed' : 'denied'} by policy ${d.policy} `,
          d.policyVersion
            ? h('a', { href: `#policy/${d.policy}?version=${d.policyVersion}` }, short(d.policyVersion))
            : '',
          `; ${(d.reasons ?? []).map((r) => r.message).join('; ') || 'no reasons'}`,
        ),
      ),
      row(
        'Created',
        s.container,
        `image ${s.container?.payload.image ?? ''} · memory ${fmtBytes(spec.memoryBytes)} · CPUs ${spec.nanoCpus ? spec.nanoCpus / 1e9 : '—'} · pids ${spec.pidsLimit ?? '—'}`,
      ),
      row('Started', s.started),
      h(
        'li',
        {},
        h('strong', {}, 'Usage'),
        ` ${s.usage.samples} samples`,
        s.usage.final
          ? ` · CPU ${(s.usage.final.cpu_ns / 1e9).toFixed(2)} s · peak ${fmtBytes(s.usage.final.memory_peak_bytes)}`
          : '',
      ),
      row(
        'Exited',
        s.exit,
        s.exit ? `exit ${s.exit.payload.exitCode}${s.exit.payload.oomKilled ? ' · OOM killed' : ''}` : '',
      ),
    ),
  );
}

/** One audit row: every row of the chain has this URL (#event/<seq>). */
export async function event(view, _params, seq) {
  const e = await api(`/audit/events/${encodeURIComponent(seq)}`);
  const links = [];
  if (e.type.startsWith('container.') && e.subject)
    links.push(h('a', { href: `#container/${e.subject}` }, 'container story'));
  if (e.policyHash && e.payload.decision?.policy)
    links.push(
      h('a', { href: `#policy/${e.payload.decision.policy}?version=${e.policyHash}` }, 'policy version'),
    );
  view.append(
    h('h2', {}, `Audit row ${e.seq}: ${e.type}`),
    h(
      'dl',
      { class: 'card kv', id: 'event' },
      [
        ['Time', fmtTime(e.occurredAt)],
        ['Recorded', fmtTime(e.recordedAt)],
        ['Principal', e.principal],
        ['Via', e.source?.via ?? ''],
        ['Subject', e.subject ?? '—'],
        ['Decision', e.decision ?? '—'],
        ['Hash', e.hash],
        ['Previous', e.prevHash],
      ].map(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)]),
    ),
    links.length
      ? h(
          'p',
          {},
          links.flatMap((l, i) => (i ? [' · ', l] : [l])),
        )
      : '',
    h('div', { id: 'exec-session' }, await execSession(e)),
    h('h3', {}, 'Payload'),
    h('pre', { class: 'card mono' }, JSON.stringify(e.payload, null, 2)),
    h(
      'p',
      {},
      e.seq > 1 ? h('a', { href: `#event/${e.seq - 1}` }, '← previous row') : '',
      ' ',
      h('a', { href: `#event/${e.seq + 1}` }, 'next row →'),
    ),
  );
}
