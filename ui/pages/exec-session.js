import { api, auth, h } from '../lib.js';

/** sha256 hex of bytes, in the browser (a secure context: https or loopback). */
async function sha256(bytes) {
  if (!globalThis.crypto?.subtle) return null;
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The transcript of a recorded exec (asciicast v2): output as the session showed it, typed input marked. */
function render(text) {
  const [header, ...events] = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const pre = h('pre', { class: 'card mono transcript', id: 'transcript' });
  for (const [at, code, data] of events) {
    if (code === 'o') pre.append(data);
    else if (code === 'i') pre.append(h('span', { class: 'typed', title: `typed at ${at}s` }, data));
    else pre.append(h('div', { class: 'error' }, `— ${data} —`));
  }
  return { header, pre };
}

/**
 * Beside an exec's audit row (issue 15): its session transcript when the policy required one,
 * checked against the sha256 its exec.ended event holds; other exec rows link to that event.
 */
export async function execSession(e) {
  const execId = e.payload.execId;
  if (!execId || e.decision === 'denied') return '';
  if (e.type !== 'exec.ended') {
    const { events } = await api(
      `/audit/events?type=exec.ended&subject=${encodeURIComponent(e.subject)}&limit=500`,
    );
    const end = events.find((x) => x.payload.execId === execId);
    return h(
      'p',
      {},
      end ? h('a', { href: `#event/${end.seq}` }, 'exec end and session transcript →') : 'exec still running',
    );
  }
  const rec = e.payload.recording;
  if (!rec) return h('p', { id: 'transcript-none' }, 'Session not recorded (the policy did not require it).');
  const res = await fetch(`/exec-recordings/${execId}`, {
    headers: { authorization: `Bearer ${auth.token}` },
  });
  if (!res.ok) return h('p', { class: 'error' }, `transcript could not be read: HTTP ${res.status}`);
  const bytes = await res.clone().arrayBuffer();
  const got = await sha256(bytes);
  const { header, pre } = render(await res.text());
  return [
    h('h3', {}, 'Session transcript'),
    h(
      'p',
      { id: 'transcript-hash' },
      got === null
        ? `sha256 in the audit event: ${rec.sha256} (this browser cannot check it here)`
        : got === rec.sha256
          ? h('span', { class: 'badge ok' }, 'sha256 matches the audit event')
          : h('span', { class: 'badge bad' }, `sha256 MISMATCH: served ${got}, audited ${rec.sha256}`),
      ` ${rec.bytes} bytes${rec.truncated ? ', cut at the cap' : ''} · started ${new Date(header.timestamp * 1000).toISOString()}`,
    ),
    pre,
  ];
}
