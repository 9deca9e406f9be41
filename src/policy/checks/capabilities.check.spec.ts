import { ctx, minimalSpec } from '../testing/fixtures';
import { capabilitiesCheck } from './capabilities.check';

describe('capabilitiesCheck', () => {
  const rules = { capabilities: { allowAdd: ['NET_BIND_SERVICE', 'cap_net_admin'] } };

  it('passes no added capabilities, even with an empty allowlist', () => {
    expect(capabilitiesCheck(minimalSpec(), { capabilities: { allowAdd: [] } }, ctx)).toEqual([]);
  });

  it('passes allowlisted capabilities however they are spelled', () => {
    const spec = minimalSpec({ capAdd: ['CAP_NET_BIND_SERVICE', 'net_admin', 'Cap_Net_Admin'] });
    expect(capabilitiesCheck(spec, rules, ctx)).toEqual([]);
  });

  it('refuses a capability not on the allowlist', () => {
    const [r, ...rest] = capabilitiesCheck(
      minimalSpec({ capAdd: ['CAP_NET_BIND_SERVICE', 'SYS_ADMIN'] }),
      rules,
      ctx,
    );
    expect(rest).toEqual([]);
    expect(r.rule).toBe('capabilities.allowAdd');
    expect(r.message).toBe(
      'capability CAP_SYS_ADMIN may not be added (allowed: NET_BIND_SERVICE, cap_net_admin) ' +
        '(policy prod, rule capabilities.allowAdd)',
    );
    expect(r.detail.capability).toBe('CAP_SYS_ADMIN');
  });

  it('refuses ALL unless ALL itself is listed', () => {
    expect(capabilitiesCheck(minimalSpec({ capAdd: ['ALL'] }), rules, ctx)[0].message).toContain(
      'capability ALL (every capability) may not be added',
    );
    expect(
      capabilitiesCheck(minimalSpec({ capAdd: ['all'] }), { capabilities: { allowAdd: ['ALL'] } }, ctx),
    ).toEqual([]);
  });

  it('refuses every added capability when the allowlist is empty, one reason each', () => {
    const spec = minimalSpec({ capAdd: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'] });
    expect(capabilitiesCheck(spec, { capabilities: { allowAdd: [] } }, ctx)).toHaveLength(2);
  });
});
