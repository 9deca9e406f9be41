import { checkCreate } from './network.service';
import { hostsFile } from './etc-files';

describe('checkCreate (docker network create options)', () => {
  it('derives the gateway from the subnet, and keeps one given inside it', () => {
    expect(checkCreate({ name: 'n', subnet: '10.9.0.0/24' })).toEqual({
      subnet: '10.9.0.0/24',
      gateway: '10.9.0.1',
    });
    expect(checkCreate({ name: 'n', subnet: '10.9.0.0/24', gateway: '10.9.0.254' })).toEqual({
      subnet: '10.9.0.0/24',
      gateway: '10.9.0.254',
    });
    expect(checkCreate({ name: 'n' })).toEqual({});
  });

  it('takes an IPv6 subnet beside the IPv4 one, and a gateway inside it', () => {
    expect(checkCreate({ name: 'n', subnet6: 'fd00:1::/64' })).toEqual({ subnet6: 'fd00:1::/64' });
    expect(
      checkCreate({ name: 'n', subnet: '10.9.0.0/24', subnet6: 'fd00:1::/64', gateway6: 'fd00:1::ffff' }),
    ).toEqual({ subnet: '10.9.0.0/24', gateway: '10.9.0.1', subnet6: 'fd00:1::/64' });
  });

  it.each([
    [{ name: 'bad name' }, "invalid network name 'bad name'"],
    [{ name: 'bridge' }, 'bridge is a pre-defined network'],
    [{ name: 'n', driver: 'overlay' }, "network driver 'overlay' is not supported"],
    [{ name: 'n', subnet: '10.9.0.1/24' }, 'has host bits set: use 10.9.0.0/24'],
    [{ name: 'n', subnet: '10.9.0.0' }, 'is not an IPv4 network in CIDR form'],
    [{ name: 'n', subnet: '300.1.0.0/16' }, 'is not an IPv4 network'],
    [{ name: 'n', subnet: '10.9.0.0/31' }, 'too small'],
    [{ name: 'n', subnet: '10.9.0.0/24', gateway: '10.9.1.1' }, 'is not a host address of --subnet'],
    [{ name: 'n', subnet: '10.9.0.0/24', gateway: '10.9.0.255' }, 'is not a host address of --subnet'],
    [{ name: 'n', subnet: '10.9.0.0/24', ipRange: '10.9.1.0/25' }, 'is not inside --subnet'],
    [{ name: 'n', subnet: '10.9.0.0/24', ipRange: '10.9.0.0/16' }, 'is not inside --subnet'],
    [{ name: 'n', gateway: '10.9.0.1' }, '--gateway and --ip-range need --subnet'],
    [{ name: 'n', subnet6: 'fd00:1::1/64' }, 'has host bits set: use fd00:1::/64'],
    [{ name: 'n', subnet6: '10.9.0.0/24' }, 'is not an IPv6 CIDR'],
    [{ name: 'n', subnet6: 'fd00:1::/129' }, 'the prefix must be 0-128'],
    [{ name: 'n', subnet6: 'fd00:1::/126' }, 'too small: use a /124 or larger'],
    [{ name: 'n', subnet6: 'fd00:1::/64', gateway6: 'fd00:2::1' }, 'is not a host address of --subnet'],
    [{ name: 'n', subnet6: 'fd00:1::/64', gateway6: 'fd00:1::' }, 'is not a host address of --subnet'],
    [{ name: 'n', gateway6: 'fd00:1::1' }, 'an IPv6 --gateway needs an IPv6 --subnet'],
    [{ name: 'bad name', subnet6: 'x' }, "invalid network name 'bad name'"],
  ])('refuses %j', (input, message) => {
    expect(() => checkCreate(input)).toThrow(message);
  });
});

describe('hostsFile', () => {
  it('names the container on each of its addresses, and on 127.0.1.1 without any', () => {
    const e = { networkId: 'n', networkName: 'appnet', containerId: 'c', aliases: [] };
    expect(hostsFile({ hostname: 'abc', name: 'web' }, [{ ...e, address: '10.9.0.2' }])).toContain(
      '10.9.0.2\tabc web\n',
    );
    expect(hostsFile({ hostname: 'abc', name: 'web' }, [])).toContain('127.0.1.1\tabc\n');
    expect(
      hostsFile({ hostname: 'abc', name: 'web' }, [{ ...e, address: '10.9.0.2', address6: 'fd00:1::2' }]),
    ).toContain('10.9.0.2\tabc web\nfd00:1::2\tabc web\n');
  });
});
