import { netavarkOptions } from './netavark';
import type { NetworkRecord } from './network';
import { ep, net } from './testing/network-fixtures';
import { nextInterface, onlyNetwork, portsOf, withNetwork, withoutNetwork } from './live-options';

const at = (n: NetworkRecord, address: string) => ({ network: n, endpoint: ep(n, address) });
const port = { hostIp: '127.0.0.1', hostPort: 18080, containerPort: 80, protocol: 'tcp' as const };

describe('live network options (connect/disconnect of a running container)', () => {
  const front = net({
    id: 'f'.repeat(64),
    name: 'front',
    interface: 'wbr-front',
    subnet: '10.9.1.0/24',
    gateway: '10.9.1.1',
  });
  const back = net({
    id: 'b'.repeat(64),
    name: 'back',
    interface: 'wbr-back',
    subnet: '10.9.2.0/24',
    gateway: '10.9.2.1',
  });
  const base = netavarkOptions({ id: 'c1', name: 'web' }, [at(front, '10.9.1.2')], [port]);

  it('a joined network goes on the next free ethN, merged beside the others; leaving it restores the rest', () => {
    const one = netavarkOptions({ id: 'c1', name: 'web' }, [at(back, '10.9.2.2')], [port]);
    expect(nextInterface(base)).toBe('eth1');
    one.networks.back.interface_name = nextInterface(base);
    const merged = withNetwork(base, one);
    expect(Object.keys(merged.networks)).toEqual(['front', 'back']);
    expect(merged.networks.back.interface_name).toBe('eth1');
    expect(onlyNetwork(merged, 'back')).toEqual(one);
    expect(withoutNetwork(merged, 'back')).toEqual(base);
    // eth0 left: the next network takes eth0 again.
    expect(nextInterface(withoutNetwork(merged, 'front'))).toBe('eth0');
  });

  it('the ports as published: a wildcard bind reads back as 0.0.0.0', () => {
    expect(portsOf(base)).toEqual([port]);
    const any = netavarkOptions(
      { id: 'c1', name: 'web' },
      [at(front, '10.9.1.2')],
      [{ ...port, hostIp: '0.0.0.0' }],
    );
    expect(portsOf(any)).toEqual([{ ...port, hostIp: '0.0.0.0' }]);
  });
});
