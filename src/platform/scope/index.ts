export { EVERYTHING, inScope, owningTeam, scopeOf, scopeSql, sqlParams, TEAM_LABEL } from './team-scope';
export type { Owner, Scope } from './team-scope';
