import { canonicalJson, sha256Hex } from '../platform/canonical';
import { baselineAction } from './baseline-upgrade';
import { baselinePolicy, policyVersionId } from './core';
import type { PolicyRecord, PolicyVersionRecord } from './policy.repository';

const current = baselinePolicy({ upstreamRegistries: [] });
const currentId = policyVersionId(current);
// An earlier release's baseline: the same but without a rule this one has.
const earlier = { ...current, rules: { ...current.rules, exec: undefined } };
const earlierId = sha256Hex(canonicalJson(earlier));

const policy = (active: string | null): PolicyRecord => ({
  name: 'baseline',
  activeVersion: active,
  createdBy: 'system',
  createdAt: '',
  updatedAt: '',
});
const version = (id: string, document: unknown, createdBy = 'system'): PolicyVersionRecord => ({
  id,
  policy: 'baseline',
  document: document as PolicyVersionRecord['document'],
  createdBy,
  createdAt: '',
});

describe('baselineAction', () => {
  it('leaves the current built-in as it is', () => {
    expect(baselineAction(policy(currentId), version(currentId, current), currentId)).toEqual({
      action: 'current',
    });
  });

  it('upgrades an earlier built-in that nobody changed', () => {
    expect(earlierId).not.toBe(currentId);
    expect(baselineAction(policy(earlierId), version(earlierId, earlier), currentId)).toEqual({
      action: 'upgrade',
      from: earlierId,
      to: currentId,
    });
  });

  it("leaves an admin's version alone, even one equal to an earlier built-in", () => {
    expect(baselineAction(policy(earlierId), version(earlierId, earlier, 'admin'), currentId)).toEqual({
      action: 'modified',
      active: earlierId,
      by: 'admin',
    });
  });

  it('treats a stored document that no longer matches its hash as modified', () => {
    const edited = { ...earlier, mode: 'audit' };
    expect(baselineAction(policy(earlierId), version(earlierId, edited), currentId).action).toBe('modified');
  });

  it('leaves a removed or deactivated baseline alone', () => {
    expect(baselineAction(undefined, undefined, currentId)).toEqual({ action: 'absent' });
    expect(baselineAction(policy(null), undefined, currentId)).toEqual({ action: 'inactive' });
  });
});
