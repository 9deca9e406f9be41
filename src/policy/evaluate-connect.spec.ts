import { parsePolicyDocument, policyVersionId } from './document/policy-document';
import { evaluateConnect } from './evaluate-connect';
import type { Exception } from './evaluate';
import { minimalSpec } from './testing/fixtures';

function policyOf(rules: unknown) {
  const r = parsePolicyDocument({ name: 'prod', mode: 'enforce', rules });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return { name: 'prod', versionId: policyVersionId(r.doc), doc: r.doc };
}

const alice = { id: 'alice', teams: ['dev'] };
const now = new Date('2026-01-01T00:00:00Z');
const container = { id: 'c1', name: 'web', spec: minimalSpec({ networkMode: 'front' }) };
const judge = (rules: unknown, network: string, exceptions: Exception[] = []) =>
  evaluateConnect({
    policy: policyOf(rules),
    spec: { container, network },
    principal: alice,
    exceptions,
    now,
  });

describe('evaluateConnect (docker network connect)', () => {
  const rules = { network: { allowedNetworks: ['front', 'back'] } };

  it('allows a listed network, refuses another with the rule', () => {
    expect(judge(rules, 'back')).toMatchObject({ allowed: true, reasons: [] });
    const d = judge(rules, 'ops');
    expect(d.allowed).toBe(false);
    expect(d.reasons.map((r) => r.rule)).toEqual(['network.allowedNetworks']);
    expect(d.reasons[0].message).toMatch(/^network ops is not allowed \(allowed: front, back\)/);
  });

  it('judges the network asked for alone, not those the container was created on', () => {
    const created = { ...container, spec: minimalSpec({ networkMode: 'front', networks: ['ops'] }) };
    const d = evaluateConnect({
      policy: policyOf(rules),
      spec: { container: created, network: 'back' },
      principal: alice,
      exceptions: [],
      now,
    });
    expect(d).toMatchObject({ allowed: true, reasons: [] });
  });

  it('judges the egress rules for the container on that network too', () => {
    const egress = { network: { egress: { allowed: ['10.0.0.0/8:443/tcp'] } } };
    expect(judge(egress, 'back').reasons.map((r) => r.rule)).toEqual(['network.egress.allowed']);
  });

  it('a live exception for the rule waives it', () => {
    const exc: Exception = {
      id: 'x1',
      rule: 'network.allowedNetworks',
      principalId: 'alice',
      image: { repository: 'corp.io/team/app' },
      requester: 'alice',
      approver: 'bob',
      ticket: 'T-1',
      expiresAt: new Date('2027-01-01T00:00:00Z'),
    };
    const d = judge(rules, 'ops', [exc]);
    expect(d).toMatchObject({ allowed: true, reasons: [], waived: [{ exceptionId: 'x1' }] });
  });
});
