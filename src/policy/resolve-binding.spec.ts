import type { MatchedBinding } from './policy.repository';
import { resolveBinding } from './resolve-binding';

const doc = (name: string) => ({ name, mode: 'enforce' as const, rules: {} });
const bound = (
  kind: MatchedBinding['kind'],
  value: string,
  policy: string,
  active = true,
): MatchedBinding => ({
  kind,
  value,
  policy,
  activeVersion: active ? `${policy}-v1` : null,
  document: active ? doc(policy) : null,
});
const bob = { id: 'bob', teams: ['red', 'blue'] };

describe('resolveBinding', () => {
  it('prefers a principal binding, then a team, then everyone', () => {
    const all = [
      bound('everyone', '*', 'base'),
      bound('team', 'red', 'team-red'),
      bound('principal', 'bob', 'mine'),
    ];
    expect(resolveBinding(bob, all)).toMatchObject({ ok: true, policy: { name: 'mine' } });
    expect(resolveBinding(bob, all.slice(0, 2))).toMatchObject({
      ok: true,
      via: { kind: 'team', value: 'red' },
    });
    expect(resolveBinding(bob, all.slice(0, 1))).toMatchObject({ ok: true, policy: { name: 'base' } });
  });

  it('two teams on one policy are not ambiguous; on two policies they fail closed', () => {
    const same = [bound('team', 'red', 'p'), bound('team', 'blue', 'p')];
    expect(resolveBinding(bob, same)).toMatchObject({ ok: true, policy: { name: 'p' } });
    const r = resolveBinding(bob, [
      bound('team', 'red', 'a'),
      bound('team', 'blue', 'b'),
      bound('everyone', '*', 'x'),
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.decision).toMatchObject({ allowed: false, policy: null });
      expect(r.decision.reasons[0].message).toMatch(
        /bob matches 2 policies at team level \(team blue → b, team red → a\)/,
      );
    }
  });

  it('no binding, or a bound policy without an active version, denies and says why', () => {
    const none = resolveBinding(bob, []);
    expect(!none.ok && none.decision.reasons[0].rule).toBe('policy.binding');
    const inactive = resolveBinding(bob, [bound('principal', 'bob', 'draft', false)]);
    expect(!inactive.ok && inactive.decision.reasons[0]).toMatchObject({
      rule: 'policy.load',
      message: expect.stringMatching(/policy draft, bound via principal bob, has no active version/),
    });
  });
});
