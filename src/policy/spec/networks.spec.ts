import { toContainerSpec } from './container-spec';

const spec = (req: Record<string, unknown>) => toContainerSpec({ image: 'corp.io/team/app:1', ...req });

describe('networks beside network (a create on several networks)', () => {
  it('keeps the further networks, without the mode itself or repeats', () => {
    const r = spec({ network: 'front', networks: ['back', 'front', 'back', 'ops'] });
    expect(r).toMatchObject({ ok: true, spec: { networkMode: 'front', networks: ['back', 'ops'] } });
    const alone = spec({ network: 'front', networks: ['front'] });
    expect(alone.ok && alone.spec.networks).toBeUndefined();
    expect(spec({ network: 'bridge' })).toMatchObject({ ok: true });
  });

  it('refuses other networks beside none or host, and none or host as another network', () => {
    expect(spec({ networks: ['back'] })).toEqual({
      ok: false,
      errors: [
        'networks: a container on network none has no other (asked: back): create it on a bridge network',
      ],
    });
    expect(spec({ network: 'host', networks: ['back'] })).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^networks: a container on network host has no other/)],
    });
    expect(spec({ network: 'front', networks: ['host'] })).toEqual({
      ok: false,
      errors: ['networks: network host cannot be combined with other networks'],
    });
    expect(spec({ network: 'front', networks: ['-x'] })).toEqual({
      ok: false,
      errors: ['networks: "-x" is not a network name'],
    });
  });
});
