import type { Logger as Pino } from 'pino';
import { WardenError } from '../platform/errors';
import type { AuditEvent } from './audit-event';

/**
 * Records a service's start. Not recorded, not started (fail closed), but a slow first answer is
 * not a refusal: right after a start Redis may still be replaying its append-only file, and in
 * the cgroup v2 test guest (an emulated CPU) the first enqueue after a kill -9 outlasted
 * ENQUEUE_TIMEOUT_MS and Warden exited (docs/cgroup-v2-guest.md). REDIS_UNAVAILABLE is tried
 * again until `withinMs` has passed; the event keeps its id, so a timed-out add that lands after
 * all is stored once. Any other error fails at once.
 */
export async function recordStart(
  audit: { enqueue(event: AuditEvent): Promise<void> },
  logger: Pick<Pino, 'warn'>,
  event: AuditEvent,
  { withinMs = 60_000, everyMs = 1000 } = {},
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await audit.enqueue(event);
    } catch (err) {
      if (!(err instanceof WardenError) || err.code !== 'REDIS_UNAVAILABLE' || Date.now() > deadline)
        throw err;
      logger.warn(`recording ${event.type}: ${err.message}; trying again`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
