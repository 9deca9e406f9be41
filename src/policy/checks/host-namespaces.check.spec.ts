import { ctx, minimalSpec } from '../testing/fixtures';
import { hostNamespacesCheck } from './host-namespaces.check';

describe('hostNamespacesCheck', () => {
  const rules = { hostNamespaces: { allow: false } };
  const ns = { pid: false, ipc: false, net: false, uts: false };

  it('passes private namespaces', () => {
    expect(hostNamespacesCheck(minimalSpec(), rules, ctx)).toEqual([]);
  });

  it('passes host namespaces when the policy allows them', () => {
    const spec = minimalSpec({ hostNamespaces: { ...ns, pid: true } });
    expect(hostNamespacesCheck(spec, { hostNamespaces: { allow: true } }, ctx)).toEqual([]);
  });

  it.each(['pid', 'ipc', 'uts'] as const)('refuses host %s', (name) => {
    const [r, ...rest] = hostNamespacesCheck(
      minimalSpec({ hostNamespaces: { ...ns, [name]: true } }),
      rules,
      ctx,
    );
    expect(rest).toEqual([]);
    expect(r.message).toBe(`host ${name} namespace is not allowed (policy prod, rule hostNamespaces.allow)`);
    expect(r.detail).toEqual({ namespace: name });
  });

  it('refuses networkMode host even if the net flag was not set', () => {
    const [r] = hostNamespacesCheck(minimalSpec({ networkMode: 'host' }), rules, ctx);
    expect(r.detail).toEqual({ namespace: 'net' });
    expect(r.message).toContain('host network');
  });

  it('reports each host namespace separately', () => {
    const spec = minimalSpec({
      hostNamespaces: { pid: true, ipc: true, net: true, uts: true },
      networkMode: 'host',
    });
    expect(hostNamespacesCheck(spec, rules, ctx).map((r) => r.detail.namespace)).toEqual([
      'pid',
      'ipc',
      'net',
      'uts',
    ]);
  });
});
