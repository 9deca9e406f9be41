import { dnsServersOf, egressRuleset } from './egress';
import { netavarkOptions } from './netavark';
import { ep, net } from './testing/network-fixtures';

/** The nft script loaded into a container's namespace: golden, since it is the filter itself. */
describe('egressRuleset', () => {
  it('loopback, replies, DNS to the gateways, the allowlist, then a counted drop', () => {
    expect(
      egressRuleset(
        [
          { cidr: '10.0.0.0/8', ports: [443, 443], protocol: 'tcp' },
          { cidr: '10.1.0.0/16', ports: [8000, 8999] },
          { cidr: '192.168.1.5/32' },
        ],
        ['10.77.0.1'],
      ),
    ).toBe(
      [
        'table inet warden_egress',
        'delete table inet warden_egress',
        'table inet warden_egress {',
        '  chain output {',
        '    type filter hook output priority filter; policy accept;',
        '    oifname "lo" accept',
        '    ct state established,related accept',
        '    ip daddr 10.77.0.1 udp dport 53 accept',
        '    ip daddr 10.77.0.1 tcp dport 53 accept',
        '    ip daddr 10.0.0.0/8 tcp dport 443 accept',
        '    ip daddr 10.1.0.0/16 meta l4proto { tcp, udp } th dport 8000-8999 accept',
        '    ip daddr 192.168.1.5/32 accept',
        '    counter reject with icmpx admin-prohibited comment "warden: not in the egress allowlist (policy rule network.egress.allowed)"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('asks DNS only of the networks aardvark-dns answers on (not the default bridge)', () => {
    const app = net({});
    const bridge = net({
      id: 'b'.repeat(64),
      name: 'bridge',
      gateway: '10.231.0.1',
      subnet: '10.231.0.0/16',
      dnsEnabled: false,
    });
    const opts = netavarkOptions(
      { id: 'c'.repeat(64), name: 'web' },
      [
        { network: app, endpoint: ep(app, '10.77.0.5') },
        { network: bridge, endpoint: ep(bridge, '10.231.0.2') },
      ],
      [],
    );
    expect(dnsServersOf(opts)).toEqual([app.gateway]);
  });
});
