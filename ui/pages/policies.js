import { api, fmtBytes, fmtTime, h, post, short, table } from '../lib.js';

const list = (xs, none) =>
  xs.length ? xs.map((x) => (x === '' ? 'locally imported images' : x)).join(', ') : none;
const cpus = (v) => (v >= 1e6 ? v / 1e9 : v);
const limitText = (l, fmt) =>
  [
    l.required ? 'required' : '',
    l.default !== undefined ? `default ${fmt(l.default)}` : '',
    l.max !== undefined ? `at most ${fmt(l.max)}` : '',
  ]
    .filter(Boolean)
    .join(', ');

/** A policy's rules as sentences a reviewer reads; anything not known here is shown as JSON. */
export function readableRules(rules) {
  const out = [];
  const r = rules ?? {};
  const add = (path, text) => out.push({ path, text });
  if (r.resources?.memory) add('resources.memory', `Memory: ${limitText(r.resources.memory, fmtBytes)}`);
  if (r.resources?.cpu) add('resources.cpu', `CPUs: ${limitText(r.resources.cpu, cpus)}`);
  if (r.resources?.pids) add('resources.pids', `Processes: ${limitText(r.resources.pids, String)}`);
  if (r.images?.allowedRegistries)
    add('images.allowedRegistries', `Images only from: ${list(r.images.allowedRegistries, 'nowhere')}`);
  if (r.images?.requireDigest) add('images.requireDigest', 'Images must be pinned by digest');
  if (r.images?.forbidLatest) add('images.forbidLatest', 'The :latest tag is refused');
  if (r.privileged)
    add(
      'privileged.allow',
      r.privileged.allow ? 'Privileged containers allowed' : 'Privileged containers refused',
    );
  if (r.hostNamespaces)
    add(
      'hostNamespaces.allow',
      r.hostNamespaces.allow ? 'Host namespaces allowed' : 'Host namespaces (network, PID, IPC) refused',
    );
  if (r.capabilities)
    add('capabilities.allowAdd', `Capabilities that may be added: ${list(r.capabilities.allowAdd, 'none')}`);
  if (r.binds)
    add(
      'binds.allowedHostPaths',
      `Host paths that may be bind-mounted: ${list(r.binds.allowedHostPaths, 'none')}`,
    );
  if (r.devices)
    add(
      'devices.allowedHostPaths',
      `Host devices that may be passed in: ${list(r.devices.allowedHostPaths, 'none')}`,
    );
  if (r.labels)
    add('labels.required', `Labels every container must carry: ${list(r.labels.required, 'none')}`);
  const known = new Set([
    'resources',
    'images',
    'privileged',
    'hostNamespaces',
    'capabilities',
    'binds',
    'devices',
    'labels',
  ]);
  for (const [k, v] of Object.entries(r)) if (!known.has(k)) add(k, `${k}: ${JSON.stringify(v)}`);
  return out;
}

/** A changed value as a reviewer reads it: memory in MiB/GiB, the rest as JSON. */
const show = (path, v) =>
  typeof v === 'number' && path.includes('.memory.') ? fmtBytes(v) : JSON.stringify(v);

/** Leaf differences between two policy documents. */
export function diff(a, b, path = '') {
  const isObj = (x) => x && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b))
    return [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .sort()
      .flatMap((k) => diff(a[k], b[k], path ? `${path}.${k}` : k));
  return JSON.stringify(a) === JSON.stringify(b)
    ? []
    : [{ path: path || '(document)', from: a ?? null, to: b ?? null }];
}

export async function policies(view) {
  const all = await api('/policies');
  view.append(
    h('h2', {}, 'Policies'),
    table(
      'policies-table',
      ['Policy', 'Mode', 'Active version', 'Bound to'],
      all.map((p) =>
        h(
          'tr',
          { class: 'policy-row' },
          h('td', {}, h('a', { href: `#policy/${p.name}` }, p.name)),
          h('td', {}, h('span', { class: `badge ${p.mode === 'audit' ? 'warn' : 'ok'}` }, p.mode)),
          h(
            'td',
            { class: 'mono' },
            p.activeVersion
              ? h('a', { href: `#policy/${p.name}?version=${p.activeVersion}` }, short(p.activeVersion))
              : '—',
          ),
          h(
            'td',
            {},
            (p.bindings ?? [])
              .map((b) => (b.kind === 'everyone' ? 'everyone' : `${b.kind} ${b.value}`))
              .join(', '),
          ),
        ),
      ),
    ),
  );
}

export async function policy(view, params, name) {
  const [versions, history] = await Promise.all([
    api(`/policies/${encodeURIComponent(name)}/versions`),
    api(`/audit/events?subject=${encodeURIComponent(name)}&order=desc&limit=200`),
  ]);
  const byId = new Map(versions.map((v) => [v.id, v]));
  const active = versions.find((v) => v.active) ?? versions[versions.length - 1];
  const chosen = byId.get(params.get('version')) ?? active;
  const idx = versions.indexOf(chosen);
  const against = byId.get(params.get('compare')) ?? versions[idx - 1];
  const versionLink = (v, text) => h('a', { href: `#policy/${name}?version=${v.id}` }, text ?? short(v.id));
  const changes = against ? diff(against.document, chosen.document) : [];
  const options = (sel) =>
    versions.map((v, i) =>
      h('option', { value: v.id, selected: v === sel }, `v${i + 1} ${short(v.id)} ${fmtTime(v.createdAt)}`),
    );
  const compareForm = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'compare versions',
      onsubmit: (e) => {
        e.preventDefault();
        const f = new FormData(e.target);
        location.hash = `policy/${name}?version=${f.get('version')}&compare=${f.get('compare')}`;
      },
    },
    h('label', {}, 'Version', h('select', { name: 'version' }, options(chosen))),
    h('label', {}, 'Compared with', h('select', { name: 'compare' }, options(against))),
    h('button', { type: 'submit' }, 'Compare'),
  );
  view.append(
    h('h2', {}, `Policy ${name}`),
    table(
      'versions-table',
      ['#', 'Version', 'Created', 'By', ''],
      versions.map((v, i) =>
        h(
          'tr',
          { class: v === chosen ? 'selected' : '' },
          h('td', {}, `v${i + 1}`),
          h('td', { class: 'mono' }, versionLink(v)),
          h('td', {}, fmtTime(v.createdAt)),
          h('td', {}, v.createdBy),
          h('td', {}, v.active ? h('span', { class: 'badge ok' }, 'active') : ''),
        ),
      ),
      'versions, oldest first',
    ),
    h(
      'section',
      { class: 'card', id: 'rules' },
      h('h3', {}, `Rules of v${idx + 1} (${short(chosen.id)}), mode ${chosen.document.mode}`),
      chosen.document.description ? h('p', {}, chosen.document.description) : '',
      h(
        'ul',
        {},
        readableRules(chosen.document.rules).map((r) =>
          h('li', {}, r.text, ' ', h('code', { class: 'muted' }, r.path)),
        ),
      ),
    ),
    h(
      'section',
      { class: 'card', id: 'diff' },
      h('h3', {}, 'What changed'),
      compareForm,
      !against
        ? h('p', { class: 'muted' }, 'The first version: nothing to compare with.')
        : changes.length
          ? h(
              'ul',
              {},
              changes.map((d) =>
                h(
                  'li',
                  { class: 'mono' },
                  `${d.path}: `,
                  h('del', { class: 'diff-del' }, show(d.path, d.from)),
                  ' → ',
                  h('ins', { class: 'diff-add' }, show(d.path, d.to)),
                ),
              ),
            )
          : h('p', {}, 'No differences.'),
    ),
    replaySection(chosen, params),
    h(
      'section',
      { class: 'card' },
      h('h3', {}, 'Who changed what, when'),
      table(
        'policy-history',
        ['Time', 'Who', 'What', 'Version'],
        history.events.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: `#event/${e.seq}` }, fmtTime(e.occurredAt))),
            h('td', {}, e.principal),
            h(
              'td',
              {},
              e.type.replace('policy.', '').replace('.', ' '),
              e.payload.kind ? ` to ${e.payload.kind} ${e.payload.value ?? ''}` : '',
            ),
            h(
              'td',
              { class: 'mono' },
              e.policyHash && byId.has(e.policyHash) ? versionLink(byId.get(e.policyHash)) : '',
            ),
          ),
        ),
      ),
    ),
  );
}

function replaySection(version, params) {
  const out = h('div', { id: 'replay-result', 'aria-live': 'polite' });
  const run = async (e) => {
    e.preventDefault();
    const days = Number(new FormData(e.target).get('days'));
    out.replaceChildren(h('p', { class: 'muted' }, 'Replaying…'));
    try {
      const to = new Date();
      const r = await post('/policies/replay', {
        candidate: version.id,
        from: new Date(to.getTime() - days * 864e5).toISOString(),
        to: to.toISOString(),
      });
      out.replaceChildren(
        h(
          'p',
          {},
          `${r.replayed} launches replayed: ${r.allowedToDenied} would now be denied, ${r.deniedToAllowed} would now be allowed, ${r.unchanged} unchanged.`,
        ),
        h(
          'p',
          { id: 'replay-execs' },
          `${r.execs.replayed} execs replayed: ${r.execs.allowedToDenied} would now be denied, ${r.execs.deniedToAllowed} would now be allowed, ${r.execs.unchanged} unchanged.`,
          r.execs.changes.map((c) =>
            h(
              'div',
              { class: 'reason' },
              `${fmtTime(c.at)} ${c.principal} exec ${c.cmd.join(' ')} in ${c.container}: ${c.change}`,
            ),
          ),
        ),
        r.changes.length
          ? table(
              'replay-table',
              ['When', 'Principal', 'Image', 'Change', 'Why'],
              r.changes.map((c) =>
                h(
                  'tr',
                  {},
                  h('td', {}, fmtTime(c.at)),
                  h('td', {}, c.principal),
                  h('td', { class: 'mono' }, c.image),
                  h(
                    'td',
                    {},
                    h(
                      'span',
                      { class: `badge ${c.change === 'allowed-to-denied' ? 'denied' : 'allowed'}` },
                      c.change,
                    ),
                  ),
                  h(
                    'td',
                    {},
                    (c.after.allowed ? c.before.reasons : c.after.reasons).map((x) =>
                      h('div', {}, h('code', {}, x.rule), ' ', x.message),
                    ),
                  ),
                ),
              ),
            )
          : '',
      );
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, err.message));
    }
  };
  return h(
    'section',
    { class: 'card', id: 'replay' },
    h('h3', {}, `Replay this version over recorded launches`),
    h(
      'form',
      { class: 'filters', onsubmit: run, 'aria-label': 'replay' },
      h(
        'label',
        {},
        'Last N days',
        h('input', { name: 'days', type: 'number', min: 1, max: 366, value: params.get('days') ?? '7' }),
      ),
      h('button', { type: 'submit' }, 'Replay'),
    ),
    out,
  );
}
