import { egressAllowlistText, exposureFrom } from './exposure';

describe('exposureFrom (the report section on network exposure)', () => {
  const created = (id: string, spec: Record<string, unknown>) => ({
    subject: id,
    type: 'container.created',
    payload: { name: `n-${id}`, image: 'busybox:1.35', spec },
  });

  it('lists networks joined and not left, the last published ports and the caps; a container on none is left out', () => {
    const rows = exposureFrom([
      created('a', { networkMode: 'front', egressBps: 10_000_000 }),
      created('b', { networkMode: 'none' }),
      { subject: 'a', type: 'network.connected', payload: { network: 'front' } },
      { subject: 'a', type: 'network.connected', payload: { network: 'back' } },
      {
        subject: 'a',
        type: 'network.published',
        payload: { ports: [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      },
      { subject: 'a', type: 'network.disconnected', payload: { network: 'back' } },
      {
        subject: 'a',
        type: 'network.published',
        payload: { ports: [{ hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80, protocol: 'tcp' }] },
      },
    ]);
    expect(rows).toEqual([
      {
        containerId: 'a',
        name: 'n-a',
        image: 'busybox:1.35',
        networks: ['front'],
        published: ['127.0.0.1:8081->80/tcp'],
        egressBps: 10_000_000,
      },
    ]);
  });

  it('lists the egress allowlist as written: absent is unrestricted, empty is nothing', () => {
    const rows = exposureFrom([
      created('a', {
        networkMode: 'front',
        egress: [
          { cidr: '10.0.0.0/8', ports: [443, 443], protocol: 'tcp' },
          { cidr: '192.168.1.5/32' },
          { cidr: '10.1.0.0/16', ports: [8000, 8999] },
        ],
      }),
      created('b', { networkMode: 'front', egress: [] }),
      created('c', { networkMode: 'front' }),
      ...['a', 'b', 'c'].map((id) => ({
        subject: id,
        type: 'network.connected',
        payload: { network: 'front' },
      })),
    ]);
    expect(rows.map((r) => [r.containerId, r.egress])).toEqual([
      ['a', ['10.0.0.0/8:443/tcp', '192.168.1.5', '10.1.0.0/16:8000-8999']],
      ['b', []],
      ['c', undefined],
    ]);
    expect(rows.map((r) => egressAllowlistText(r.egress))).toEqual([
      '10.0.0.0/8:443/tcp 192.168.1.5 10.1.0.0/16:8000-8999',
      'none',
      'unrestricted',
    ]);
  });
});
