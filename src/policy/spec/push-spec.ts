/**
 * A push as the policy judges it (issue 17 point 6): which local image goes to which
 * configured upstream under which repository, and the teams of who asks.
 */
export interface PushSpec {
  /** The reference as pushed (`127.0.0.1:5000/team-a/app:1`). */
  image: string;
  /** The upstream's alias and its registry host[:port]. */
  upstream: string;
  registry: string;
  /** The repository on that upstream (`team-a/app`). */
  repository: string;
  teams: string[];
}

/** One admitted destination: upstreams (alias, registry or `*`), repositories, and optionally teams. */
export interface PushDestination {
  upstreams: string[];
  /** `team-a/app` exactly, `team-a/*` for everything under team-a/, or `*`. */
  repositories: string[];
  /** Only callers in one of these teams; absent: anyone bound to the policy. */
  teams?: string[];
}

/** `team-a/*` covers `team-a/x` and `team-a/x/y`, never `team-ab/x`; `*` covers all. */
export function repositoryMatches(pattern: string, repository: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return repository.startsWith(pattern.slice(0, -1));
  return pattern === repository;
}
