import { api, fmtBytes, fmtTime, h, short, table } from '../lib.js';

// A node is up while it heartbeats within WARDEN_NODE_HEARTBEAT_TIMEOUT; a down node's live
// containers show `unknown` until it returns and reconciles them (docs/fleet.md).
const statusBadge = (status) => h('span', { class: `badge ${status === 'up' ? 'ok' : 'bad'}` }, status);

export async function nodes(view) {
  const list = await api('/nodes');
  const down = list.filter((n) => n.status === 'down').length;
  view.append(
    h('h2', {}, 'Nodes'),
    h(
      'p',
      { class: 'muted' },
      `${list.length} node(s), ${down} down. A down node's running containers show as unknown until it returns.`,
    ),
    table(
      'nodes-table',
      [
        'Node',
        'Status',
        'Address',
        'Version',
        'CPUs',
        'Memory',
        'Running',
        'Unknown',
        'Containers',
        'Last seen',
      ],
      list.map((n) =>
        h(
          'tr',
          { class: 'node-row', id: `node-${n.name}` },
          h(
            'td',
            {},
            h('a', { href: `#node/${encodeURIComponent(n.name)}` }, n.name),
            n.self ? ' (this one)' : '',
          ),
          h('td', {}, statusBadge(n.status)),
          h('td', { class: 'mono' }, n.address ?? '—'),
          h('td', {}, n.version),
          h('td', {}, String(n.capacity.cpus)),
          h('td', {}, fmtBytes(n.capacity.memoryBytes)),
          h('td', {}, String(n.containers.running)),
          h(
            'td',
            {},
            n.containers.unknown ? h('span', { class: 'badge warn' }, String(n.containers.unknown)) : '0',
          ),
          h('td', {}, String(n.containers.total)),
          h('td', {}, fmtTime(n.lastSeen)),
        ),
      ),
      'Every Warden node on this database',
    ),
  );
}

export async function node(view, _params, name) {
  const n = await api(`/nodes/${encodeURIComponent(name)}`);
  view.append(
    h('h2', {}, `Node ${n.name}`),
    h(
      'dl',
      { class: 'card kv', id: 'node' },
      [
        ['Status', statusBadge(n.status)],
        ['Address', n.address ?? '—'],
        ['Version', n.version],
        ['Capacity', `${n.capacity.cpus} CPUs, ${fmtBytes(n.capacity.memoryBytes)}`],
        ['Started', fmtTime(n.startedAt)],
        ['First seen', fmtTime(n.firstSeen)],
        ['Last seen', fmtTime(n.lastSeen)],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    table(
      'node-containers',
      ['Name', 'Id', 'Image', 'State', 'Created'],
      n.containerList.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#container/${c.id}` }, c.name)),
          h('td', { class: 'mono' }, short(c.id)),
          h('td', { class: 'mono' }, c.image),
          h('td', {}, h('span', { class: `badge ${c.state === 'unknown' ? 'warn' : c.state}` }, c.state)),
          h('td', {}, fmtTime(c.createdAt)),
        ),
      ),
      `${n.containerList.length} container(s) on ${n.name}`,
    ),
  );
}
