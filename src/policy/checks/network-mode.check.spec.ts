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
});
