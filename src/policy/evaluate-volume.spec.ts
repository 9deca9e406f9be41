import { evaluateVolume } from './evaluate-volume';
import { parsePolicyDocument, type PolicyDocument } from './document/policy-document';
import { toVolumeSpec } from './spec/volume-spec';

const MiB = 1024 ** 2;

function policy(rules: unknown, mode: 'enforce' | 'audit' = 'enforce') {
  const r = parsePolicyDocument({ name: 'p', mode, rules });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return { name: 'p', versionId: 'v1', doc: r.doc as PolicyDocument };
}

const spec = (input: Parameters<typeof toVolumeSpec>[0]) => {
  const r = toVolumeSpec(input);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.spec;
};

describe('evaluateVolume', () => {
  it('fills the default size before the cap is checked', () => {
    const p = policy({ volumes: { size: { default: '32m', max: '64m' } } });
    const r = evaluateVolume(p, spec({ name: 'data' }));
    expect(r.decision.allowed).toBe(true);
    expect(r.effectiveVolume.sizeBytes).toBe(32 * MiB);
    const big = evaluateVolume(p, spec({ name: 'data', options: { size: '1g' } }));
    expect(big.decision).toMatchObject({ allowed: false, policy: 'p', policyVersion: 'v1' });
    expect(big.decision.reasons.map((x) => x.rule)).toEqual(['volumes.size.max']);
  });

  it('audit mode admits and still lists what enforce would deny', () => {
    const r = evaluateVolume(
      policy({ volumes: { allowedDrivers: ['local'] } }, 'audit'),
      spec({ name: 'x1', driver: 'nfs' }),
    );
    expect(r.decision.allowed).toBe(true);
    expect(r.decision.reasons).toHaveLength(1);
  });

  it('a policy document checks its volume rules', () => {
    expect(
      parsePolicyDocument({
        name: 'p',
        mode: 'enforce',
        rules: { volumes: { size: { default: '2g', max: '1g' } } },
      }),
    ).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/rules\.volumes\.size\.default is above rules\.volumes\.size\.max/)],
    });
    expect(
      parsePolicyDocument({ name: 'p', mode: 'enforce', rules: { volumes: { allowedOptions: ['a b'] } } }),
    ).toMatchObject({
      ok: false,
    });
  });
});

describe('toVolumeSpec', () => {
  it('parses size and keeps other options for the policy to judge', () => {
    expect(spec({ name: 'ab', options: { size: '16m', device: '/x' } })).toEqual({
      name: 'ab',
      driver: 'local',
      options: { device: '/x' },
      labels: {},
      sizeBytes: 16 * MiB,
    });
  });

  it('lists every problem', () => {
    expect(toVolumeSpec({ name: 'a', options: { size: '1k' } })).toEqual({
      ok: false,
      errors: [
        expect.stringMatching(/^name: "a" includes invalid characters/),
        'options.size: 1k is below the minimum 8m',
      ],
    });
  });
});
