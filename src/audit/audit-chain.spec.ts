import { canonicalJson } from '../platform/canonical/canonical-json';
import { canonicalEvent, chainHash, GENESIS_HASH } from './audit-chain';
import type { AuditEvent } from './audit-event';

/** The definition canonicalEvent is written out from: build the object, let canonicalJson sort it. */
const canonicalEventGeneric = (e: AuditEvent, seq: number) =>
  canonicalJson({
    seq,
    id: e.id,
    type: e.type,
    occurredAt: e.occurredAt,
    principal: e.principal,
    source: e.source,
    subject: e.subject ?? null,
    decision: e.decision ?? null,
    policyHash: e.policyHash ?? null,
    payload: e.payload,
  });

const base: AuditEvent = {
  id: '0b7f2c1e-8f5a-4c8e-9d3b-2a6f1e4d5c7b',
  occurredAt: '2026-01-02T03:04:05.678Z',
  type: 'policy.decision',
  principal: 'deployer-1',
  source: { via: 'http', ip: '10.0.0.7', tokenId: 'tok_1' },
  subject: 'corp.io/payments/api@sha256:ab',
  decision: 'denied',
  policyHash: 'cd'.repeat(32),
  payload: { spec: { memory: 536870912, labels: { owner: 'pay', 'cost-centre': 'c42' } }, reasons: [] },
};

describe('canonicalEvent', () => {
  const cases: Array<[string, AuditEvent]> = [
    ['every field set', base],
    ['optional fields absent', { ...base, subject: undefined, decision: undefined, policyHash: undefined }],
    ['optional fields explicitly undefined in source', { ...base, source: { via: 'system' } }],
    ['unicode, quotes and control characters', { ...base, principal: 'zoë "q" \u0001 \u2028 😀' }],
    [
      'nested undefined, arrays and numbers',
      { ...base, payload: { a: undefined, b: [1, undefined, 2.5, -0] } },
    ],
  ];
  it.each(cases)('is byte-identical to the sorted-object form: %s', (_name, e) => {
    for (const seq of [1, 42, 9_007_199_254_740_991])
      expect(canonicalEvent(e, seq)).toBe(canonicalEventGeneric(e, seq));
  });

  it('takes source and payload already encoded, as the worker stores them', () => {
    const source = canonicalJson(base.source);
    const payload = canonicalJson(base.payload);
    expect(canonicalEvent(base, 7, source, payload)).toBe(canonicalEventGeneric(base, 7));
    expect(chainHash(GENESIS_HASH, base, 7, { source, payload })).toBe(chainHash(GENESIS_HASH, base, 7));
  });

  it('refuses a seq with no JSON form, like canonicalJson', () => {
    expect(() => canonicalEvent(base, NaN)).toThrow(/no JSON form/);
  });
});
