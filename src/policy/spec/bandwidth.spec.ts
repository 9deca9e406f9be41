import { resourceLimitsCheck } from '../checks/resource-limits.check';
import { parsePolicyDocument } from '../document/policy-document';
import { applyDefaults } from '../evaluate';
import { ctx, minimalSpec } from '../testing/fixtures';
import { convertBandwidth, formatRate, parseRate } from './bandwidth';

describe('bandwidth caps', () => {
  it.each([
    ['10mbit', 10_000_000],
    ['10m', 10_000_000],
    ['1.5Gbit', 1_500_000_000],
    ['512kbit', 512_000],
    ['1mbps', 8_000_000],
    [2_000_000, 2_000_000],
  ])('%s is %d bits/s', (input, bps) => {
    expect(parseRate(input)).toBe(bps);
  });

  it.each(['fast', '10 furlongs', '-1m', '', 0])('%s is not a rate', (input) => {
    expect(parseRate(input)).toBeUndefined();
  });

  it('formats as tc writes rates', () => {
    expect(formatRate(10_000_000)).toBe('10mbit');
    expect(formatRate(1_500_000_000)).toBe('1.5gbit');
    expect(formatRate(64_000)).toBe('64kbit');
  });

  it('the REST field wins over the label; a bad value or one out of range names its source', () => {
    const spec: { egressBps?: number; ingressBps?: number } = {};
    const errors: string[] = [];
    convertBandwidth(
      {
        bandwidth: { egress: '20mbit' },
        labels: { 'warden.bandwidth.egress': '1mbit', 'warden.bandwidth.ingress': '5mbit' },
      },
      spec,
      errors,
    );
    expect(errors).toEqual([]);
    expect(spec).toEqual({ egressBps: 20_000_000, ingressBps: 5_000_000 });
    convertBandwidth(
      { labels: { 'warden.bandwidth.ingress': 'fast' }, bandwidth: { egress: '1bit' } },
      {},
      errors,
    );
    expect(errors).toEqual([
      'bandwidth.egress: 1bit is outside 64kbit..100gbit',
      'label warden.bandwidth.ingress: "fast" must be a rate such as 10mbit, 512kbit or 1gbit',
    ]);
  });

  it('policy: a default fills in, a cap refuses more (with the rule), and only bridged containers are judged', () => {
    const parsed = parsePolicyDocument({
      name: 'team-a',
      mode: 'enforce',
      rules: { resources: { egress: { max: '50mbit', default: '10mbit' }, ingress: { max: '1gbit' } } },
    });
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const rules = parsed.doc.rules;
    expect(rules.resources).toEqual({
      egress: { max: 50_000_000, default: 10_000_000 },
      ingress: { max: 1_000_000_000 },
    });
    const bridged = minimalSpec({ networkMode: 'bridge', ingressBps: 100_000_000 });
    const { effectiveSpec } = applyDefaults(bridged, parsed.doc);
    expect(effectiveSpec.egressBps).toBe(10_000_000);
    expect(resourceLimitsCheck(effectiveSpec, rules, ctx)).toEqual([]);
    const [r] = resourceLimitsCheck({ ...effectiveSpec, egressBps: 100_000_000 }, rules, ctx);
    expect(r.rule).toBe('resources.egress.max');
    expect(r.message).toMatch(/^egress bandwidth 100mbit exceeds cap 50mbit/);
    // Unset ingress under a cap is unlimited: refused, as memory is.
    expect(resourceLimitsCheck({ ...effectiveSpec, ingressBps: undefined }, rules, ctx)[0].rule).toBe(
      'resources.ingress.max',
    );
    // Network none has no veth to cap: nothing to judge.
    expect(resourceLimitsCheck(minimalSpec({ networkMode: 'none' }), rules, ctx)).toEqual([]);
  });

  it('a policy rate that is not one is listed with its field', () => {
    const parsed = parsePolicyDocument({
      name: 'team-a',
      mode: 'enforce',
      rules: { resources: { egress: { max: 'lots' } } },
    });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok)
      expect(parsed.errors.join()).toMatch(/rules\.resources\.egress\.max: "lots" must be a rate/);
  });
});
