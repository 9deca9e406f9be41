import { ctx, minimalSpec } from '../testing/fixtures';
import { networkModeCheck } from './network-mode.check';

describe('networkModeCheck', () => {
  const rules = { network: { allowedNetworks: ['none', 'appnet'] } };

  it('passes a listed network, anything under *, and anything without the rule', () => {
    expect(networkModeCheck(minimalSpec(), rules, ctx)).toEqual([]);
    expect(networkModeCheck(minimalSpec({ networkMode: 'appnet' }), rules, ctx)).toEqual([]);
    expect(
      networkModeCheck(minimalSpec({ networkMode: 'x' }), { network: { allowedNetworks: ['*'] } }, ctx),
    ).toEqual([]);
    expect(networkModeCheck(minimalSpec({ networkMode: 'x' }), {}, ctx)).toEqual([]);
  });

  it('refuses another network, naming the allowed ones', () => {
    expect(networkModeCheck(minimalSpec({ networkMode: 'bridge' }), rules, ctx)).toEqual([
      {
        rule: 'network.allowedNetworks',
        message:
          'network bridge is not allowed (allowed: none, appnet) (policy prod, rule network.allowedNetworks)',
        detail: { network: 'bridge', allowed: ['none', 'appnet'] },
      },
    ]);
  });

  it('judges the host net flag as network host', () => {
    const spec = minimalSpec({ hostNamespaces: { pid: false, ipc: false, net: true, uts: false } });
    expect(networkModeCheck(spec, rules, ctx)[0].detail).toMatchObject({ network: 'host' });
  });

  it('judges every network of the create, one reason per refused network', () => {
    const spec = minimalSpec({ networkMode: 'appnet', networks: ['ops', 'appnet2', 'none'] });
    const found = networkModeCheck(spec, { network: { allowedNetworks: ['appnet', 'none'] } }, ctx);
    expect(found.map((r) => [r.rule, r.detail])).toEqual([
      ['network.allowedNetworks', { network: 'ops', allowed: ['appnet', 'none'] }],
      ['network.allowedNetworks', { network: 'appnet2', allowed: ['appnet', 'none'] }],
    ]);
    expect(found[0].message).toMatch(/^network ops is not allowed \(allowed: appnet, none\)/);
    expect(networkModeCheck(spec, { network: { allowedNetworks: ['*'] } }, ctx)).toEqual([]);
  });
});
