import { parsePolicyDocument } from '../document/policy-document';
import { applyDefaults } from '../evaluate';
import { parseEgressEntry, type EgressRule } from '../spec/egress';
import { ctx, minimalSpec } from '../testing/fixtures';
import { egressCheck } from './egress.check';

const egress = (...entries: string[]) => entries.map((e) => parseEgressEntry(e) as EgressRule);

describe('egressCheck', () => {
  const rules = { network: { egress: { allowed: ['10.0.0.0/8:443/tcp', '192.168.1.5:53'] } } };
  const bridged = (overrides = {}) => minimalSpec({ networkMode: 'appnet', ...overrides });

  it('passes an allowlist inside the policy, any container without the rule, and network none', () => {
    expect(
      egressCheck(bridged({ egress: egress('10.2.0.0/16:443/tcp', '192.168.1.5:53/udp') }), rules, ctx),
    ).toEqual([]);
    expect(egressCheck(bridged({ egress: egress() }), rules, ctx)).toEqual([]);
    expect(egressCheck(bridged(), {}, ctx)).toEqual([]);
    expect(egressCheck(minimalSpec(), rules, ctx)).toEqual([]);
  });

  it('refuses an entry outside it, naming the entry and the rule', () => {
    expect(egressCheck(bridged({ egress: egress('10.0.0.0/8:80/tcp') }), rules, ctx)).toEqual([
      {
        rule: 'network.egress.allowed',
        message:
          'egress to 10.0.0.0/8:80/tcp is not allowed (allowed: 10.0.0.0/8:443/tcp, 192.168.1.5:53) (policy prod, rule network.egress.allowed)',
        detail: { allowed: ['10.0.0.0/8:443/tcp', '192.168.1.5:53'], egress: '10.0.0.0/8:80/tcp' },
      },
    ]);
  });

  it('refuses unrestricted egress, the host network, and a container that could remove its filter', () => {
    expect(egressCheck(bridged(), rules, ctx)[0].message).toMatch(
      /^unrestricted egress is not allowed .*ask for an allowlist with egress \(the label warden\.egress\)/,
    );
    const host = minimalSpec({
      networkMode: 'host',
      hostNamespaces: { pid: false, ipc: false, net: true, uts: false },
    });
    expect(egressCheck(host, rules, ctx)[0].detail).toMatchObject({ network: 'host' });
    const admin = bridged({ egress: egress('10.0.0.1:443/tcp'), capAdd: ['CAP_NET_ADMIN'] });
    expect(egressCheck(admin, rules, ctx).map((r) => r.message)).toEqual([
      expect.stringMatching(/cannot be privileged or have CAP_NET_ADMIN/),
    ]);
  });

  it('a policy default fills a bridged container that asks for nothing; the document refuses a default it denies', () => {
    const doc = parsePolicyDocument({
      name: 'prod',
      mode: 'enforce',
      rules: { network: { egress: { allowed: ['10.0.0.0/8:443/tcp'], default: ['10.1.2.3:443/tcp'] } } },
    });
    if (!doc.ok) throw new Error(doc.errors.join('; '));
    const { effectiveSpec, defaultsApplied } = applyDefaults(bridged(), doc.doc);
    expect(effectiveSpec.egress).toEqual(egress('10.1.2.3:443/tcp'));
    expect(defaultsApplied).toEqual([{ field: 'egress', value: 1, entries: ['10.1.2.3:443/tcp'] }]);
    expect(egressCheck(effectiveSpec, doc.doc.rules, ctx)).toEqual([]);
    expect(applyDefaults(minimalSpec(), doc.doc).effectiveSpec.egress).toBeUndefined();
    expect(
      parsePolicyDocument({
        name: 'prod',
        mode: 'enforce',
        rules: { network: { egress: { allowed: ['10.0.0.0/8:443/tcp'], default: ['10.0.0.1:80', 'nope'] } } },
      }),
    ).toEqual({
      ok: false,
      errors: [
        'rules.network.egress.default[1]: "nope" must be CIDR[:port[-port]][/tcp|udp], e.g. 10.0.0.0/8:443/tcp',
        'rules.network.egress.default: 10.0.0.1:80 is outside rules.network.egress.allowed; a container relying on the default would always be denied',
      ],
    });
  });
});
