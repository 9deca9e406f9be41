import { WardenError } from '../errors';
import type { Principal } from '../http';

/**
 * Team scoping (issue 14 point 4), in one place for every module and route.
 *
 * Containers, images, volumes, networks and exec sessions have an owner: the team they were
 * made for (`team`), or — when their maker belongs to no team — that principal alone
 * (`team` null, `createdBy`). Admins and auditors see everything (auditors change nothing:
 * their routes' role checks refuse every write before any of this runs); a deployer sees
 * what its teams own and what it made itself outside any team. Anything else does not
 * exist for it: lookups answer 404, lists leave it out in SQL (`scopeSql`), so names do
 * not leak.
 *
 * Use: resolve a reference with `scopeOf(caller.principal)` passed down to the repository,
 * add `scopeSql(...)` to the WHERE of its query, or check a record already read with
 * `inScope`. Record the owner of a new thing with `owningTeam`.
 */
export type Scope =
  | { readonly all: true }
  | { readonly all: false; readonly principal: string; readonly teams: readonly string[] };

/** What admins, auditors and Warden's own work (restart policies, auto-remove) see. */
export const EVERYTHING: Scope = { all: true };

/** Who owns a row. `team` null: only `createdBy` (and admins and auditors) see it. */
export interface Owner {
  team: string | null;
  createdBy: string;
}

export function scopeOf(p: Principal): Scope {
  if (p.role === 'admin' || p.role === 'auditor') return EVERYTHING;
  return { all: false, principal: p.id, teams: [...p.teams] };
}

export function inScope(scope: Scope, o: Owner): boolean {
  if (scope.all) return true;
  return o.team === null ? o.createdBy === scope.principal : scope.teams.includes(o.team);
}

/**
 * The WHERE predicate that keeps a query to the scope, over a row's team and creator
 * columns; `param` adds a bound value and answers its placeholder. Undefined when the
 * scope is everything (no predicate to add).
 */
export function scopeSql(
  scope: Scope,
  columns: { team: string; createdBy: string },
  param: (value: unknown) => string,
): string | undefined {
  if (scope.all) return undefined;
  return `(${columns.team} = ANY(${param(scope.teams)}::text[]) OR (${columns.team} IS NULL AND ${columns.createdBy} = ${param(scope.principal)}))`;
}

/** A `param` for `scopeSql` over a fresh parameter list that starts after `offset` values. */
export function sqlParams(offset = 0): { params: unknown[]; param: (value: unknown) => string } {
  const params: unknown[] = [];
  return {
    params,
    param: (v) => {
      params.push(v);
      return `$${offset + params.length}`;
    },
  };
}

/** The label a Docker client sets to choose the owning team (Docker has no notion of teams). */
export const TEAM_LABEL = 'warden.team';

/**
 * The team that owns what this principal makes: the one it asked for (REST `team`, the
 * `warden.team` label on the Docker API), else its first team, else none (it alone). A
 * deployer may only name one of its own teams (403 otherwise); an admin may give anything
 * to any team, and owns what it makes without one itself.
 */
export function owningTeam(p: Principal, requested?: string): string | null {
  if (requested === undefined || requested === '') return p.teams[0] ?? null;
  if (p.role !== 'admin' && !p.teams.includes(requested))
    throw new WardenError(
      'TEAM_NOT_MEMBER',
      `principal '${p.id}' is not in team '${requested}' (its teams: ${p.teams.length ? p.teams.join(', ') : 'none'}); name one of its teams or leave the team out`,
      { team: requested, teams: p.teams },
    );
  return requested;
}
