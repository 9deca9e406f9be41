import { contains6, formatAddress6, parseAddress6, parseCidr6 } from './ipv6';

describe('IPv6 addresses and subnets', () => {
  it('reads an address, :: anywhere, as its 128-bit number', () => {
    expect(parseAddress6('::')).toBe(0n);
    expect(parseAddress6('::1')).toBe(1n);
    expect(parseAddress6('fd00::')).toBe(0xfd00n << 112n);
    expect(parseAddress6('fd00:1::2')).toBe((0xfd00n << 112n) | (1n << 96n) | 2n);
    expect(parseAddress6('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    for (const bad of ['10.0.0.1', '::ffff:10.0.0.1', 'fe80::1%eth0', 'fd00::1::2', 'g::1', ''])
      expect(parseAddress6(bad)).toBeUndefined();
  });

  it('reads a subnet; host bits, a prefix past 128 and IPv4 are refused', () => {
    const s = parseCidr6('fd00:1::/64');
    expect(s).toEqual({ base: (0xfd00n << 112n) | (1n << 96n), prefix: 64 });
    expect(contains6(s as { base: bigint; prefix: number }, parseAddress6('fd00:1::ffff')!)).toBe(true);
    expect(contains6(s as { base: bigint; prefix: number }, parseAddress6('fd00:2::1')!)).toBe(false);
    expect(parseCidr6('fd00:1::1/64')).toEqual({
      problem: 'fd00:1::1/64 has host bits set: use fd00:1::/64',
    });
    expect(parseCidr6('fd00:1:2:3:4::/48')).toMatchObject({
      problem: expect.stringMatching(/use fd00:1:2::\/48$/),
    });
    expect(parseCidr6('fd00::/129')).toMatchObject({
      problem: expect.stringMatching(/prefix must be 0-128/),
    });
    expect(parseCidr6('10.0.0.0/8')).toMatchObject({ problem: expect.stringMatching(/not an IPv6 CIDR/) });
  });

  it('writes an address in its short form', () => {
    for (const a of ['::', '::1', 'fd00::', 'fd00:1::2', '1:2:3:4:5:6:7:8', '1:0:0:2::3', 'fd00:0:1::'])
      expect(formatAddress6(parseAddress6(a)!)).toBe(a);
    expect(formatAddress6(parseAddress6('1:0:2:3:4:5:6:7')!)).toBe('1:0:2:3:4:5:6:7');
  });
});
