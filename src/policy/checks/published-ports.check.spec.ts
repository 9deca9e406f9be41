import type { PublishedPort } from '../spec/ports';
import { ctx, minimalSpec } from '../testing/fixtures';
import { publishedPortsCheck } from './published-ports.check';

const port = (p: Partial<PublishedPort>): PublishedPort => ({
  hostIp: '',
  hostPort: 8080,
  containerPort: 80,
  protocol: 'tcp',
  ...p,
});
const spec = (...ports: PublishedPort[]) => minimalSpec({ networkMode: 'bridge', ports });

describe('publishedPortsCheck', () => {
  it('passes without ports or without the rule', () => {
    expect(
      publishedPortsCheck(minimalSpec(), { network: { publish: { allowedHostPorts: [] } } }, ctx),
    ).toEqual([]);
    expect(publishedPortsCheck(spec(port({ hostPort: 80 })), {}, ctx)).toEqual([]);
  });

  it('baseline: no port below 1024 on every address, but on one address, or 1024 and up', () => {
    const rules = { network: { publish: { wildcardBelow1024: false } } };
    const [r, ...rest] = publishedPortsCheck(spec(port({ hostPort: 80 })), rules, ctx);
    expect(rest).toEqual([]);
    expect(r.rule).toBe('network.publish.wildcardBelow1024');
    expect(r.message).toContain(
      'publishing 0.0.0.0:80->80/tcp: a port below 1024 on every address is not allowed',
    );
    expect(r.message).toContain('-p 127.0.0.1:80:80');
    expect(publishedPortsCheck(spec(port({ hostPort: 80, hostIp: '127.0.0.1' })), rules, ctx)).toEqual([]);
    expect(publishedPortsCheck(spec(port({ hostPort: 1024 }), port({ hostPort: 0 })), rules, ctx)).toEqual(
      [],
    );
  });

  it('host ports only in the allowed ranges; any free port only under *', () => {
    const rules = { network: { publish: { allowedHostPorts: ['8000-8999', '443'] } } };
    expect(publishedPortsCheck(spec(port({ hostPort: 8080 }), port({ hostPort: 443 })), rules, ctx)).toEqual(
      [],
    );
    const refused = publishedPortsCheck(spec(port({ hostPort: 9000 }), port({ hostPort: 0 })), rules, ctx);
    expect(refused.map((r) => r.rule)).toEqual([
      'network.publish.allowedHostPorts',
      'network.publish.allowedHostPorts',
    ]);
    expect(refused[0].message).toContain('host port 9000 is not allowed (allowed: 8000-8999, 443)');
    expect(refused[1].message).toContain('host port (any free port) is not allowed');
    expect(
      publishedPortsCheck(
        spec(port({ hostPort: 0 })),
        { network: { publish: { allowedHostPorts: ['*'] } } },
        ctx,
      ),
    ).toEqual([]);
  });

  it('host addresses only from the list, 0.0.0.0 meaning every address', () => {
    const rules = { network: { publish: { allowedHostIps: ['127.0.0.1'] } } };
    expect(publishedPortsCheck(spec(port({ hostIp: '127.0.0.1' })), rules, ctx)).toEqual([]);
    const [r] = publishedPortsCheck(spec(port({})), rules, ctx);
    expect(r).toMatchObject({
      rule: 'network.publish.allowedHostIps',
      detail: { hostIp: '0.0.0.0', hostPort: 8080, allowed: ['127.0.0.1'] },
    });
  });
});
