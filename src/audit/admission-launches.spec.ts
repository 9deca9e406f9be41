import { admissionLaunchesOf } from './admission-launches';
import type { AuditEvent } from './audit-event';

const decision = { allowed: true, policy: 'shop', policyVersion: 'a'.repeat(64), reasons: [] };
/** What of the review a row keeps. */
const REVIEW = {
  webhook: 'validate',
  review: 'r-1',
  operation: 'CREATE',
  dryRun: false,
  kubernetes: { user: 'alice@corp.io' },
  object: { kind: 'Pod', namespace: 'shop', name: 'web' },
};

function review(payload: Record<string, unknown>, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    type: 'policy.decision',
    occurredAt: '2026-12-03T18:00:00.000Z',
    principal: 'k8s-user:alice@corp.io',
    source: { via: 'admission' },
    payload: {
      action: 'admission',
      ...REVIEW,
      teams: ['k8s-namespace:shop'],
      decision,
      ...payload,
    },
    ...over,
  };
}

const carried = (name: string, id?: string) => ({
  name,
  type: 'container',
  ...(id ? { launchRequestId: id, requested: { image: { registry: 'corp.io' } } } : {}),
  spec: { image: { registry: 'corp.io' }, memoryBytes: 1 },
  decision,
});

describe('admissionLaunchesOf: the launch request rows a review event carries', () => {
  it('one row per container that carries a launch request: the spec as asked, the review, the decision', () => {
    const rows = admissionLaunchesOf([
      review({ containers: [carried('web', 'lr-1'), carried('side', 'lr-2')] }),
    ]);
    expect(rows).toEqual([
      {
        id: 'lr-1',
        principal: 'k8s-user:alice@corp.io',
        principalTeams: ['k8s-namespace:shop'],
        request: { admission: { ...REVIEW, container: 'web', type: 'container' } },
        spec: { image: { registry: 'corp.io' } },
        decision,
        policyVersion: 'a'.repeat(64),
        createdAt: '2026-12-03T18:00:00.000Z',
      },
      expect.objectContaining({
        id: 'lr-2',
        request: { admission: expect.objectContaining({ container: 'side' }) },
      }),
    ]);
  });

  it('none for dry runs and mutating reviews (no launch request ids), other decisions or other events', () => {
    expect(
      admissionLaunchesOf([
        review({ webhook: 'mutate', containers: [carried('web')] }),
        review({ action: 'launch', containers: [carried('web', 'lr-3')] }),
        review({ containers: [carried('web', 'lr-4')] }, { type: 'container.created' }),
        review({ containers: 'not a list' }),
      ]),
    ).toEqual([]);
  });
});
