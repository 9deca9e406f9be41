// Shared helpers of the review console: DOM building, formatting, the API client and the
// charts (inline SVG drawn here; nothing is fetched from outside this Warden).

export const $ = (sel, root = document) => root.querySelector(sel);

export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity))
    el.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return el;
};

export const fmtBytes = (b) =>
  b === undefined || b === null
    ? '—'
    : b >= 2 ** 30
      ? `${(b / 2 ** 30).toFixed(1)} GiB`
      : `${Math.round(b / 2 ** 20)} MiB`;
export const fmtTime = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '—');
export const short = (s, n = 12) => (s ?? '').slice(0, n);

let token = sessionStorage.getItem('warden-token');
let onUnauthorized = () => {};
export const auth = {
  get token() {
    return token;
  },
  set(t) {
    token = t;
    if (t) sessionStorage.setItem('warden-token', t);
    else sessionStorage.removeItem('warden-token');
  },
  onUnauthorized(fn) {
    onUnauthorized = fn;
  },
};

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  if (res.status === 401) {
    auth.set(null);
    onUnauthorized(parsed.message);
    throw new Error(parsed.message);
  }
  if (!res.ok) throw new Error(parsed.message ?? `HTTP ${res.status}`);
  return parsed;
}
export const api = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

/** Fetches a file with the token (a plain link cannot carry it) and hands it to the browser. */
export async function download(path, name) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`download of ${name} failed: HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A filter form whose submit moves to `#page?field=value…`, so every filtered view has a URL. */
export function filterForm(page, fields, params) {
  const apply = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const q = new URLSearchParams([...f.entries()].filter(([, v]) => v));
    location.hash = `${page}?${q}`;
  };
  return h(
    'form',
    { class: 'filters', onsubmit: apply, 'aria-label': `${page} filters` },
    fields.map((f) =>
      h(
        'label',
        {},
        f.label,
        f.options
          ? h(
              'select',
              { name: f.name },
              f.options.map(([value, text]) =>
                h('option', { value, selected: value === (params.get(f.name) ?? f.value ?? '') }, text),
              ),
            )
          : h('input', {
              name: f.name,
              type: f.type ?? 'text',
              value: params.get(f.name) ?? f.value ?? '',
              placeholder: f.placeholder,
            }),
      ),
    ),
    h('button', { type: 'submit' }, 'Apply'),
  );
}

export function table(id, headers, rows, caption) {
  return h(
    'table',
    { id },
    caption ? h('caption', {}, caption) : '',
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

const SVG = 'http://www.w3.org/2000/svg';
const s = (tag, attrs = {}, text) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
};

/**
 * Stacked columns over time. `series` is [{key, label, color}], `rows` [{start, …counts}].
 * A title per column gives its numbers on hover; the figure's label names the chart for
 * screen readers, and the same numbers are in a table beside it.
 */
export function stackedColumns(rows, series, { width = 900, height = 220, label }) {
  const pad = { l: 40, r: 10, t: 10, b: 34 };
  const max = Math.max(1, ...rows.map((r) => series.reduce((a, x) => a + r[x.key], 0)));
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': label,
    class: 'chart',
  });
  const innerW = width - pad.l - pad.r;
  const innerH = height - pad.t - pad.b;
  const bw = rows.length ? innerW / rows.length : innerW;
  for (const f of [0, 0.5, 1]) {
    const y = pad.t + innerH * (1 - f);
    svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: pad.l - 4, y: y + 4, 'text-anchor': 'end' }, String(Math.round(max * f))));
  }
  rows.forEach((r, i) => {
    let y = pad.t + innerH;
    const g = s('g');
    g.append(s('title', {}, `${r.start}: ${series.map((x) => `${x.label} ${r[x.key]}`).join(', ')}`));
    for (const x of series) {
      const bh = (r[x.key] / max) * innerH;
      y -= bh;
      if (bh > 0)
        g.append(
          s('rect', { x: pad.l + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh, fill: x.color }),
        );
    }
    svg.append(g);
  });
  const ticks = Math.min(6, rows.length);
  for (let k = 0; k < ticks; k++) {
    const i = Math.round((k * (rows.length - 1)) / Math.max(1, ticks - 1));
    svg.append(
      s(
        'text',
        { x: pad.l + i * bw + bw / 2, y: height - 18, 'text-anchor': 'middle' },
        rows[i].start.slice(5, 16).replace('T', ' '),
      ),
    );
  }
  series.forEach((x, k) => {
    svg.append(s('rect', { x: pad.l + k * 110, y: height - 12, width: 10, height: 10, fill: x.color }));
    svg.append(s('text', { x: pad.l + k * 110 + 14, y: height - 3 }, x.label));
  });
  return svg;
}

/** Horizontal bars, one per row: [{label, value, text?, href?}]. */
export function hbars(rows, { width = 420, label, color = '#2952cc' }) {
  const rowH = 22;
  const labelW = 170;
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${rows.length * rowH + 4}`,
    role: 'img',
    'aria-label': label,
    class: 'chart',
  });
  rows.forEach((r, i) => {
    const y = i * rowH + 2;
    const w = ((width - labelW - 150) * r.value) / max;
    svg.append(s('text', { x: 0, y: y + 14 }, r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label));
    svg.append(s('rect', { x: labelW, y, width: Math.max(1, w), height: rowH - 6, fill: r.color ?? color }));
    svg.append(s('text', { x: labelW + w + 4, y: y + 14 }, r.text ?? String(r.value)));
  });
  return svg;
}

/** The canonical JSON reports are signed over: keys sorted, no whitespace (as the server's). */
export function canonicalJson(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .filter((k) => v[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
    .join(',')}}`;
}
