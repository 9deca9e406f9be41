import { baselinePolicy } from '../document/baseline';
import { parsePolicyDocument } from '../document/policy-document';
import { pushDestinationsCheck } from './push-destinations.check';

const ctx = { policyName: 'p' };
const push = {
  image: '127.0.0.1:5000/team-a/app:1',
  upstream: 'local',
  registry: '127.0.0.1:5000',
  repository: 'team-a/app',
  teams: ['a'],
};

describe('pushDestinationsCheck', () => {
  it('denies every push when the policy lists no destination, as baseline does', () => {
    const [r] = pushDestinationsCheck(push, {}, ctx);
    expect(r.rule).toBe('push.allowedDestinations');
    expect(r.message).toBe(
      "push of 127.0.0.1:5000/team-a/app:1 to upstream 'local' (repository team-a/app) is not allowed (allowed: none) (policy p, rule push.allowedDestinations)",
    );
  });

  it('admits a listed upstream (by alias or registry) and repository pattern', () => {
    for (const upstreams of [['local'], ['127.0.0.1:5000'], ['*']])
      for (const repositories of [['team-a/app'], ['team-a/*'], ['*']])
        expect(
          pushDestinationsCheck(push, { push: { allowedDestinations: [{ upstreams, repositories }] } }, ctx),
        ).toEqual([]);
  });

  it('refuses another upstream, a repository outside the pattern, or a caller outside the teams', () => {
    const cases = [
      { upstreams: ['hub'], repositories: ['*'] },
      { upstreams: ['local'], repositories: ['team-ab/*', 'team-a'] },
      { upstreams: ['local'], repositories: ['team-a/*'], teams: ['b'] },
    ];
    for (const d of cases) {
      const [r] = pushDestinationsCheck(push, { push: { allowedDestinations: [d] } }, ctx);
      expect(r?.rule).toBe('push.allowedDestinations');
    }
    const [r] = pushDestinationsCheck(push, { push: { allowedDestinations: [cases[2]] } }, ctx);
    expect(r.message).toContain('(allowed: team-a/* on local for b)');
  });
});

describe('push rule in a policy document', () => {
  it('parses back to itself and refuses a repository pattern that is not one', () => {
    const rules = {
      push: { allowedDestinations: [{ upstreams: ['local'], repositories: ['team-a/*'], teams: ['a'] }] },
    };
    const ok = parsePolicyDocument({ name: 'pushers', mode: 'enforce', rules });
    expect(ok).toEqual({ ok: true, doc: { name: 'pushers', mode: 'enforce', rules } });
    const bad = parsePolicyDocument({
      name: 'pushers',
      mode: 'enforce',
      rules: { push: { allowedDestinations: [{ upstreams: ['local'], repositories: ['Team A'] }] } },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.join('\n')).toMatch(/must be a repository, prefix\/\*, or \*/);
  });

  it('is absent from baseline, so baseline denies every push', () => {
    const [r] = pushDestinationsCheck(
      push,
      baselinePolicy({ upstreamRegistries: ['127.0.0.1:5000'] }).rules,
      ctx,
    );
    expect(r.rule).toBe('push.allowedDestinations');
  });
});
