import { toContainerSpec } from './container-spec';
import { convertEgress, egressCovers, formatEgress, parseEgressEntry, type EgressRule } from './egress';

const rule = (s: string) => parseEgressEntry(s) as EgressRule;

describe('egress allowlists', () => {
  it('reads CIDR[:ports][/protocol]: a bare address is a /32, no ports every port', () => {
    expect(parseEgressEntry('10.0.0.0/8:443/tcp')).toEqual({
      cidr: '10.0.0.0/8',
      ports: [443, 443],
      protocol: 'tcp',
    });
    expect(parseEgressEntry('192.168.1.5')).toEqual({ cidr: '192.168.1.5/32' });
    expect(parseEgressEntry(' 10.1.0.0/16:8000-8999 ')).toEqual({ cidr: '10.1.0.0/16', ports: [8000, 8999] });
    expect(formatEgress(rule('192.168.1.5:53/udp'))).toBe('192.168.1.5:53/udp');
    expect(formatEgress(rule('10.1.0.0/16:8000-8999'))).toBe('10.1.0.0/16:8000-8999');
  });

  it('names what is wrong with an entry', () => {
    expect(parseEgressEntry('example.com:443')).toMatch(/must be CIDR\[:port\[-port\]\]\[\/tcp\|udp\]/);
    expect(parseEgressEntry('10.0.0.1/8')).toMatch(/host bits set: use 10\.0\.0\.0\/8/);
    expect(parseEgressEntry('10.0.0.0/8:90-80')).toMatch(/ports must be 1-65535, low to high/);
    expect(parseEgressEntry('10.0.0.0/8:0')).toMatch(/ports must be 1-65535/);
    expect(parseEgressEntry('10.0.0.0/8/tcp')).toMatch(/a protocol needs ports/);
  });

  it('covers by network, ports and protocol', () => {
    expect(egressCovers(rule('10.0.0.0/8'), rule('10.2.0.0/16:80/udp'))).toBe(true);
    expect(egressCovers(rule('10.0.0.0/8:443'), rule('10.9.9.9:443/tcp'))).toBe(true);
    expect(egressCovers(rule('10.0.0.0/8:443/tcp'), rule('10.9.9.9:443'))).toBe(false);
    expect(egressCovers(rule('10.0.0.0/8:443'), rule('10.9.9.9'))).toBe(false);
    expect(egressCovers(rule('10.0.0.0/16'), rule('10.0.0.0/8'))).toBe(false);
    expect(egressCovers(rule('10.0.0.0/8:80-90'), rule('10.0.0.1:85-91'))).toBe(false);
  });

  it('takes the field over the label; the label splits on commas, empty = nothing but DNS', () => {
    const spec: { egress?: EgressRule[] } = {};
    const errors: string[] = [];
    convertEgress({ egress: ['10.0.0.0/8:443/tcp'], labels: { 'warden.egress': '1.2.3.4' } }, spec, errors);
    expect(spec.egress).toEqual([rule('10.0.0.0/8:443/tcp')]);
    convertEgress({ labels: { 'warden.egress': '1.2.3.4, 10.0.0.0/8:53/udp' } }, spec, errors);
    expect(spec.egress).toEqual([rule('1.2.3.4'), rule('10.0.0.0/8:53/udp')]);
    convertEgress({ labels: { 'warden.egress': '' } }, spec, errors);
    expect(spec.egress).toEqual([]);
    expect(errors).toEqual([]);
    convertEgress({ labels: { 'warden.egress': 'x' } }, spec, errors);
    expect(errors).toEqual([
      'label warden.egress[0]: "x" must be CIDR[:port[-port]][/tcp|udp], e.g. 10.0.0.0/8:443/tcp',
    ]);
  });

  it('belongs to bridge networks: a launch request with it on none or host is refused', () => {
    const r = toContainerSpec({ image: 'corp.io/a:1', network: 'host', egress: ['10.0.0.0/8'] });
    expect(r).toEqual({
      ok: false,
      errors: ['egress: an allowlist applies on a bridge network, not with network host'],
    });
    const ok = toContainerSpec({ image: 'corp.io/a:1', network: 'appnet', egress: ['10.0.0.0/8:443/tcp'] });
    expect(ok.ok && ok.spec.egress).toEqual([rule('10.0.0.0/8:443/tcp')]);
  });
});
