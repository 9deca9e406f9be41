import { netavarkOptions } from './netavark';
import { ep, net } from './testing/network-fixtures';

/** The JSON netavark 1.4 is given: golden, since netavark reads it field by field. */
describe('netavarkOptions', () => {
  it('a container on a user network and the default bridge, with a published port', () => {
    const app = net({});
    const bridge = net({
      id: 'b'.repeat(64),
      name: 'bridge',
      interface: 'warden0',
      subnet: '10.231.0.0/16',
      gateway: '10.231.0.1',
      dnsEnabled: false,
      builtin: true,
    });
    const opts = netavarkOptions(
      { id: 'c'.repeat(64), name: 'web' },
      [
        { network: app, endpoint: ep(app, '10.77.0.5', ['www', 'web']) },
        { network: bridge, endpoint: ep(bridge, '10.231.0.2') },
      ],
      [
        { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      ],
    );
    expect(opts).toEqual({
      container_id: 'c'.repeat(64),
      container_name: 'web',
      port_mappings: [
        { host_ip: '127.0.0.1', container_port: 80, host_port: 8080, range: 1, protocol: 'tcp' },
        { host_ip: '', container_port: 53, host_port: 5353, range: 1, protocol: 'udp' },
      ],
      networks: {
        appnet: { static_ips: ['10.77.0.5'], aliases: ['web', 'www'], interface_name: 'eth0' },
        bridge: { static_ips: ['10.231.0.2'], aliases: [], interface_name: 'eth1' },
      },
      network_info: {
        appnet: {
          name: 'appnet',
          id: 'a'.repeat(64),
          driver: 'bridge',
          network_interface: 'wbr-aaaaaaaaaaa',
          subnets: [{ subnet: '10.77.0.0/24', gateway: '10.77.0.1' }],
          ipv6_enabled: false,
          internal: false,
          dns_enabled: true,
          ipam_options: { driver: 'host-local' },
        },
        bridge: {
          name: 'bridge',
          id: 'b'.repeat(64),
          driver: 'bridge',
          network_interface: 'warden0',
          subnets: [{ subnet: '10.231.0.0/16', gateway: '10.231.0.1' }],
          ipv6_enabled: false,
          internal: false,
          dns_enabled: false,
          ipam_options: { driver: 'host-local' },
        },
      },
    });
  });

  it('an IPv6 network: both subnets, both addresses, ipv6_enabled', () => {
    const six = net({ subnet6: 'fd00:77::/64', gateway6: 'fd00:77::1' });
    const opts = netavarkOptions(
      { id: 'c'.repeat(64), name: 'web' },
      [{ network: six, endpoint: { ...ep(six, '10.77.0.5'), address6: 'fd00:77::2' } }],
      [],
    );
    expect(opts.networks.appnet.static_ips).toEqual(['10.77.0.5', 'fd00:77::2']);
    expect(opts.network_info.appnet).toMatchObject({
      subnets: [
        { subnet: '10.77.0.0/24', gateway: '10.77.0.1' },
        { subnet: 'fd00:77::/64', gateway: 'fd00:77::1' },
      ],
      ipv6_enabled: true,
    });
  });

  it('refuses a network that is not a bridge', () => {
    const host = net({
      name: 'host',
      driver: 'host',
      interface: undefined,
      subnet: undefined,
      gateway: undefined,
    });
    expect(() =>
      netavarkOptions({ id: 'c', name: 'x' }, [{ network: host, endpoint: ep(host, '1.2.3.4') }], []),
    ).toThrow('network host is not a bridge network');
  });
});
