import type { AuditEvent } from './audit-event';
import { unacknowledged } from './audit.service';

const event = (id: string, type: AuditEvent['type'], subject?: string): AuditEvent => ({
  id,
  type,
  subject,
  principal: 'alice',
  source: { via: 'http' },
  occurredAt: '2026-12-03T18:00:00.000Z',
  payload: {},
});

describe('unacknowledged: the trail says which events landed after a 503', () => {
  it('one system event per subject, naming each landed event by id and type', () => {
    const out = unacknowledged([
      event('e1', 'container.started', 'c1'),
      event('e2', 'policy.decision', 'c2'),
      event('e3', 'container.died', 'c1'),
      event('e4', 'api.call'),
    ]);
    expect(out.map((e) => [e.type, e.principal, e.subject, e.payload?.events])).toEqual([
      [
        'audit.unacknowledged',
        'system',
        'c1',
        [
          { id: 'e1', type: 'container.started' },
          { id: 'e3', type: 'container.died' },
        ],
      ],
      ['audit.unacknowledged', 'system', 'c2', [{ id: 'e2', type: 'policy.decision' }]],
      ['audit.unacknowledged', 'system', undefined, [{ id: 'e4', type: 'api.call' }]],
    ]);
    expect(out[2]).not.toHaveProperty('subject');
    expect(out[0].payload?.reason).toMatch(/answered 503.*not done/);
  });
});
