// Warden's review console: a dependency-free page that talks to the same REST API with the
// same bearer tokens. Nothing is fetched from outside this Warden (no CDN).

const $ = (sel, root = document) => root.querySelector(sel);
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat())
    el.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return el;
};
const fmtBytes = (b) =>
  b === undefined || b === null
    ? '—'
    : b >= 2 ** 30
      ? `${(b / 2 ** 30).toFixed(1)} GiB`
      : `${Math.round(b / 2 ** 20)} MiB`;
const fmtTime = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '—');

let token = sessionStorage.getItem('warden-token');

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    sessionStorage.removeItem('warden-token');
    token = null;
    showLogin(body.message);
    throw new Error(body.message);
  }
  if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
  return body;
}

function showLogin(message) {
  const view = $('#view');
  view.replaceChildren(loginForm);
  loginForm.hidden = false;
  $('#login-error').textContent = message ?? '';
}

const loginForm = $('#login');
loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('#token').value.trim();
  sessionStorage.setItem('warden-token', token);
  route();
});

const views = {
  async containers(view) {
    const list = await api('/containers?all=true');
    view.append(
      h('h2', {}, 'Containers'),
      h(
        'table',
        { id: 'containers-table' },
        h(
          'tr',
          {},
          ['Name', 'Image', 'State', 'Memory cap', 'CPUs', 'Pids', 'Started', 'Exit', 'By', ''].map((t) =>
            h('th', {}, t),
          ),
        ),
        list.map((c) =>
          h(
            'tr',
            {},
            h('td', {}, c.name),
            h('td', { class: 'mono' }, c.image),
            h('td', {}, h('span', { class: `badge ${c.state}` }, c.state)),
            h('td', {}, fmtBytes(c.limits?.memoryBytes)),
            h('td', {}, c.limits?.nanoCpus ? c.limits.nanoCpus / 1e9 : '—'),
            h('td', {}, c.limits?.pidsLimit ?? '—'),
            h('td', {}, fmtTime(c.startedAt)),
            h('td', {}, c.exitCode === undefined ? '' : `${c.exitCode}${c.oomKilled ? ' (OOM killed)' : ''}`),
            h('td', {}, c.createdBy),
            h('td', {}, h('a', { href: `#story/${c.id}` }, 'story')),
          ),
        ),
      ),
    );
  },

  async decisions(view, params) {
    const q = new URLSearchParams({ type: 'policy.decision', order: 'desc', limit: '200' });
    if (params.get('decision')) q.set('decision', params.get('decision'));
    if (params.get('principal')) q.set('principal', params.get('principal'));
    const { events } = await api(`/audit/events?${q}`);
    const rule = params.get('rule') ?? '';
    const shown = events.filter(
      (e) => !rule || (e.payload.decision?.reasons ?? []).some((r) => r.rule === rule),
    );
    const rules = [
      ...new Set(events.flatMap((e) => (e.payload.decision?.reasons ?? []).map((r) => r.rule))),
    ].sort();
    const apply = (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      location.hash = `decisions?${new URLSearchParams([...f.entries()].filter(([, v]) => v))}`;
    };
    view.append(
      h('h2', {}, 'Decisions'),
      h(
        'form',
        { class: 'filters', onsubmit: apply },
        h(
          'label',
          {},
          'Decision',
          h(
            'select',
            { name: 'decision' },
            ['', 'denied', 'would-deny', 'allowed'].map((d) =>
              h(
                'option',
                d === (params.get('decision') ?? '') ? { value: d, selected: '' } : { value: d },
                d || 'any',
              ),
            ),
          ),
        ),
        h(
          'label',
          {},
          'Rule',
          h(
            'select',
            { name: 'rule' },
            ['', ...rules].map((r) =>
              h('option', r === rule ? { value: r, selected: '' } : { value: r }, r || 'any'),
            ),
          ),
        ),
        h('label', {}, 'Principal', h('input', { name: 'principal', value: params.get('principal') ?? '' })),
        h('button', { type: 'submit' }, 'Filter'),
      ),
      h(
        'table',
        { id: 'decisions-table' },
        h(
          'tr',
          {},
          ['Time', 'Principal', 'Action', 'Image', 'Decision', 'Policy', 'Reasons'].map((t) =>
            h('th', {}, t),
          ),
        ),
        shown.map((e) =>
          h(
            'tr',
            { class: 'decision-row' },
            h('td', {}, fmtTime(e.occurredAt)),
            h('td', {}, e.principal),
            h('td', {}, e.payload.action ?? ''),
            h('td', { class: 'mono' }, e.payload.image ?? ''),
            h('td', {}, h('span', { class: `badge ${e.decision}` }, e.decision)),
            h(
              'td',
              { class: 'mono' },
              `${e.payload.decision?.policy ?? '—'} ${(e.policyHash ?? '').slice(0, 12)}`,
            ),
            h(
              'td',
              {},
              (e.payload.decision?.reasons ?? []).map((r) =>
                h('div', { class: 'reason' }, h('code', {}, r.rule), ' ', r.message),
              ),
              (e.payload.decision?.waived ?? []).map((r) =>
                h('div', { class: 'reason' }, 'waived by exception: ', h('code', {}, r.rule)),
              ),
            ),
          ),
        ),
      ),
    );
  },

  async story(view, _params, id) {
    const s = await api(`/reports/stories/${encodeURIComponent(id)}`);
    const row = (title, r, extra) =>
      r
        ? h(
            'li',
            {},
            h('strong', {}, title),
            ` ${fmtTime(r.occurredAt)} by ${r.principal}`,
            extra ? h('div', {}, extra) : '',
            h('div', { class: 'mono' }, `seq ${r.seq} · hash ${r.hash} · prev ${r.prevHash}`),
          )
        : h('li', {}, h('strong', {}, title), ' — none recorded');
    const spec = s.container?.payload.spec ?? {};
    view.append(
      h('h2', {}, `Story of container ${id.slice(0, 12)}`),
      h(
        'ol',
        { class: 'story card', id: 'story' },
        s.pulls.length
          ? s.pulls.map((p) =>
              row(p.type === 'image.pulled' ? 'Pulled' : 'Imported', p, `${p.subject ?? ''}`),
            )
          : row('Image origin', null),
        row(
          'Decision',
          s.decision,
          `${s.decision.payload.decision.allowed ? 'allowed' : 'denied'} by policy ${s.decision.payload.decision.policy} ${(s.decision.payload.decision.policyVersion ?? '').slice(0, 12)}; ${(s.decision.payload.decision.reasons ?? []).map((r) => r.message).join('; ') || 'no reasons'}`,
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
  },

  async policies(view) {
    const policies = await api('/policies');
    view.append(h('h2', {}, 'Policies'));
    for (const p of policies) {
      const versions = await api(`/policies/${encodeURIComponent(p.name)}/versions`);
      const card = h(
        'div',
        { class: 'card' },
        h(
          'h3',
          {},
          p.name,
          ' ',
          h('span', { class: 'mono' }, `active ${(p.activeVersion ?? p.active_version ?? '').slice(0, 12)}`),
        ),
      );
      const list = Array.isArray(versions) ? versions : (versions.versions ?? []);
      list.forEach((v, i) => {
        const prev = list[i - 1];
        card.append(
          h(
            'div',
            { class: 'mono' },
            `${fmtTime(v.createdAt)} ${v.id?.slice(0, 12) ?? ''} by ${v.createdBy ?? ''}`,
          ),
          prev
            ? h(
                'ul',
                {},
                diff(prev.document, v.document).map((d) =>
                  h(
                    'li',
                    { class: 'mono' },
                    h('span', { class: 'diff-del' }, `${d.path}: ${JSON.stringify(d.from)}`),
                    ' → ',
                    h('span', { class: 'diff-add' }, JSON.stringify(d.to)),
                  ),
                ),
              )
            : '',
        );
      });
      view.append(card);
    }
  },

  async usage(view) {
    const { rollups } = await api(`/usage?from=${new Date(Date.now() - 7 * 864e5).toISOString()}`);
    const byTeam = new Map();
    for (const r of rollups) {
      const key = `${r.label}=${r.value}`;
      byTeam.set(key, (byTeam.get(key) ?? 0) + r.cpuSeconds);
    }
    const rows = [...byTeam.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20);
    const max = Math.max(1e-9, ...rows.map((r) => r[1]));
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('width', '800');
    svg.setAttribute('height', String(30 + rows.length * 22));
    rows.forEach(([k, v], i) => {
      const y = 10 + i * 22;
      svg.insertAdjacentHTML(
        'beforeend',
        `<text x="0" y="${y + 12}"></text><rect x="260" y="${y}" height="16" width="${(v / max) * 500}" fill="#2952cc"></rect><text x="${265 + (v / max) * 500}" y="${y + 12}">${v.toFixed(1)} CPU-s</text>`,
      );
      svg.querySelectorAll('text')[i * 2].textContent = k;
    });
    view.append(
      h('h2', {}, 'CPU seconds per label, last 7 days'),
      rows.length ? svg : h('p', {}, 'No usage samples yet.'),
    );
  },

  async chain(view) {
    const v = await api('/audit/verify');
    view.append(
      h('h2', {}, 'Audit chain'),
      h(
        'div',
        { class: 'card', id: 'chain-status' },
        h('span', { class: `badge ${v.ok ? 'ok' : 'bad'}` }, v.ok ? 'verified' : 'BROKEN'),
        ` ${v.rows} rows`,
        v.head ? h('div', { class: 'mono' }, `head seq ${v.head.seq} · ${v.head.hash}`) : '',
        v.firstBroken
          ? h(
              'div',
              { class: 'error' },
              `first broken row: seq ${v.firstBroken.seq} (${v.firstBroken.reason})`,
            )
          : '',
      ),
    );
  },
};

/** Leaf differences between two policy documents. */
function diff(a, b, path = '') {
  const isObj = (x) => x && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b))
    return [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .sort()
      .flatMap((k) => diff(a[k], b[k], path ? `${path}.${k}` : k));
  return JSON.stringify(a) === JSON.stringify(b)
    ? []
    : [{ path: path || '(document)', from: a ?? null, to: b ?? null }];
}

async function route() {
  if (!token) return showLogin();
  const [name, ...rest] = (location.hash.slice(1) || 'containers').split('/');
  const [viewName, query] = name.split('?');
  const view = $('#view');
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  document
    .querySelectorAll('nav a')
    .forEach((a) => a.classList.toggle('active', a.getAttribute('href') === `#${viewName}`));
  try {
    const fresh = h('div', { id: `view-${viewName}` });
    await (views[viewName] ?? views.containers)(
      fresh,
      new URLSearchParams(query ?? ''),
      decodeURIComponent(rest.join('/')),
    );
    view.replaceChildren(fresh);
  } catch (err) {
    if (token) view.replaceChildren(h('p', { class: 'error' }, err.message));
  }
}

window.addEventListener('hashchange', route);
route();
