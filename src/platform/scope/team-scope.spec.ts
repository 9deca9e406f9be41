import { WardenError } from '../errors';
import type { Principal } from '../http';
import { EVERYTHING, inScope, owningTeam, scopeOf, scopeSql, sqlParams } from './team-scope';

const dev = (teams: string[], id = 'dev'): Principal => ({ id, role: 'deployer', teams });
const admin: Principal = { id: 'boss', role: 'admin', teams: [] };
const auditor: Principal = { id: 'aud', role: 'auditor', teams: ['pay'] };

describe('team scope', () => {
  it('admins and auditors see everything; a deployer its teams and its own teamless things', () => {
    expect(scopeOf(admin)).toBe(EVERYTHING);
    expect(scopeOf(auditor)).toBe(EVERYTHING);
    const s = scopeOf(dev(['pay', 'ops']));
    expect(inScope(s, { team: 'ops', createdBy: 'someone' })).toBe(true);
    expect(inScope(s, { team: 'web', createdBy: 'dev' })).toBe(false);
    expect(inScope(s, { team: null, createdBy: 'dev' })).toBe(true);
    expect(inScope(s, { team: null, createdBy: 'other' })).toBe(false);
    expect(inScope(scopeOf(dev([])), { team: 'pay', createdBy: 'dev' })).toBe(false);
    expect(inScope(EVERYTHING, { team: 'web', createdBy: 'x' })).toBe(true);
  });

  it('the SQL predicate binds the teams and the principal; none for everything', () => {
    const { params, param } = sqlParams(2);
    const sql = scopeSql(scopeOf(dev(['pay'])), { team: 't.team', createdBy: 't.created_by' }, param);
    expect(sql).toBe('(t.team = ANY($3::text[]) OR (t.team IS NULL AND t.created_by = $4))');
    expect(params).toEqual([['pay'], 'dev']);
    expect(scopeSql(EVERYTHING, { team: 'team', createdBy: 'created_by' }, param)).toBeUndefined();
  });

  it('the owner: the team asked for, else the first team, else none; never a team the deployer is not in', () => {
    expect(owningTeam(dev(['pay', 'ops']))).toBe('pay');
    expect(owningTeam(dev(['pay', 'ops']), 'ops')).toBe('ops');
    expect(owningTeam(dev([]))).toBeNull();
    expect(owningTeam(admin, 'web')).toBe('web');
    let err: unknown;
    try {
      owningTeam(dev(['pay']), 'web');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WardenError);
    expect((err as WardenError).code).toBe('TEAM_NOT_MEMBER');
    expect((err as WardenError).status).toBe(403);
    expect((err as WardenError).message).toMatch(/not in team 'web' \(its teams: pay\)/);
  });
});
