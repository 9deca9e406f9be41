import type { PolicyRules } from '../document/policy-document';
import { repositoryMatches, type PushDestination, type PushSpec } from '../spec/push-spec';
import { violation, type CheckContext, type CheckResult } from './check-result';

export type PushCheck = (push: PushSpec, rules: PolicyRules, ctx: CheckContext) => CheckResult[];

const admits = (d: PushDestination, p: PushSpec) =>
  d.upstreams.some((u) => u === '*' || u === p.upstream || u === p.registry) &&
  d.repositories.some((r) => repositoryMatches(r, p.repository)) &&
  (!d.teams || d.teams.some((t) => p.teams.includes(t)));

const describe = (d: PushDestination) =>
  `${d.repositories.join(' ')} on ${d.upstreams.join(' ')}${d.teams ? ` for ${d.teams.join(' ')}` : ''}`;

/**
 * A push sends a local image out of the host: only to the destinations the policy lists.
 * No list (as in `baseline`) admits none: pushing is off until a policy turns it on.
 */
export const pushDestinationsCheck: PushCheck = (push, rules, ctx) => {
  const allowed = rules.push?.allowedDestinations ?? [];
  if (allowed.some((d) => admits(d, push))) return [];
  return [
    violation(
      ctx,
      'push.allowedDestinations',
      `push of ${push.image} to upstream '${push.upstream}' (repository ${push.repository}) is not allowed (allowed: ${allowed.length ? allowed.map(describe).join('; ') : 'none'})`,
      { image: push.image, upstream: push.upstream, repository: push.repository, teams: push.teams },
    ),
  ];
};
