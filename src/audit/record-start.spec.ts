import { randomUUID } from 'node:crypto';
import { WardenError } from '../platform/errors';
import type { AuditEvent } from './audit-event';
import { recordStart } from './record-start';

// What main.ts records when a service starts: the system's own event, its id fixed once.
const system = { principal: 'system', source: { via: 'system' as const }, payload: { role: 'up' } };
const event: AuditEvent = {
  ...system,
  type: 'service.started',
  id: randomUUID(),
  occurredAt: new Date().toISOString(),
};
const slowRedis = () =>
  new WardenError('REDIS_UNAVAILABLE', 'Redis did not take the audit job (no answer within 2500 ms)');

/** An audit whose enqueues fail with the given errors in turn, then succeed; it keeps what it was sent. */
function audit(...failures: Error[]) {
  const sent: AuditEvent[] = [];
  return {
    sent,
    enqueue: async (e: AuditEvent) => {
      sent.push(e);
      const err = failures.shift();
      if (err) throw err;
    },
  };
}

describe('recordStart', () => {
  const warnings: string[] = [];
  const logger = { warn: (m: string) => void warnings.push(m) };
  beforeEach(() => (warnings.length = 0));

  it('tries a slow Redis again with the same event until it is taken', async () => {
    const a = audit(slowRedis(), slowRedis());
    await recordStart(a, logger, event, { everyMs: 1 });
    expect(a.sent).toHaveLength(3);
    expect(new Set(a.sent.map((e) => e.id))).toEqual(new Set([event.id]));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^recording service\.started: Redis did not take .*; trying again$/);
  });

  it('gives up once its time has passed: the start fails with the refusal', async () => {
    const a = audit(...Array.from({ length: 1000 }, slowRedis));
    await expect(recordStart(a, logger, event, { withinMs: 20, everyMs: 5 })).rejects.toMatchObject({
      code: 'REDIS_UNAVAILABLE',
    });
    expect(a.sent.length).toBeGreaterThan(1);
    expect(a.sent.length).toBeLessThan(1000);
  });

  it('fails at once on any other error', async () => {
    const a = audit(new WardenError('INTERNAL', 'boom'), slowRedis());
    await expect(recordStart(a, logger, event, { everyMs: 1 })).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(a.sent).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});
