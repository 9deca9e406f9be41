import { api, filterForm, fmtTime, h, table } from '../lib.js';

export async function exceptions(view, params) {
  const live = params.get('live') === 'true';
  const list = await api(`/exceptions${live ? '?live=true' : ''}`);
  const id = params.get('id');
  const now = Date.now();
  view.append(
    h('h2', {}, 'Exceptions'),
    filterForm(
      'exceptions',
      [
        {
          name: 'live',
          label: 'Show',
          options: [
            ['', 'all'],
            ['true', 'only those not expired'],
          ],
        },
      ],
      params,
    ),
    table(
      'exceptions-table',
      ['Rule', 'Scope', 'Image', 'Requester', 'Approver', 'Ticket', 'Created', 'Expires'],
      list
        .filter((x) => !id || x.id === id)
        .map((x) => {
          const expired = Date.parse(x.expiresAt) <= now;
          const soon = !expired && Date.parse(x.expiresAt) - now < 7 * 864e5;
          return h(
            'tr',
            { class: 'exception-row', id: `exception-${x.id}` },
            h('td', {}, h('a', { href: `#exceptions?id=${x.id}` }, h('code', {}, x.rule))),
            h('td', {}, x.team ? `team ${x.team}` : `principal ${x.principalId}`),
            h('td', { class: 'mono' }, [x.image?.repository, x.image?.digest].filter(Boolean).join(' @ ')),
            h('td', {}, x.requester),
            h('td', {}, x.approver),
            h('td', {}, x.ticket),
            h('td', {}, fmtTime(x.createdAt)),
            h(
              'td',
              {},
              fmtTime(x.expiresAt),
              ' ',
              expired
                ? h('span', { class: 'badge exited' }, 'expired')
                : soon
                  ? h('span', { class: 'badge warn' }, 'soon')
                  : '',
            ),
          );
        }),
      `${list.length} exception(s)`,
    ),
  );
}
