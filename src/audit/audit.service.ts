import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { WardenMetrics } from '../platform/metrics';
import { enqueueWithin, QueueName } from '../platform/queue';
import type { AuditEvent, AuditEventInput } from './audit-event';
import { AuditJobName } from './audit.jobs';

/**
 * The API side of the audit trail: fixes an event's id and time, then hands it to the queue
 * with jobId = event id, so a retried enqueue is one job and a retried job is one row.
 * Resolves once Redis has the job (AOF on): from then on the event survives restarts and a
 * Postgres outage.
 */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

@Injectable()
export class AuditService {
  constructor(
    @InjectQueue(QueueName.Audit) private readonly queue: Queue,
    private readonly metrics: WardenMetrics,
  ) {}

  async record(input: AuditEventInput): Promise<AuditEvent> {
    const event: AuditEvent = {
      ...input,
      id: randomUUID(),
      occurredAt: new Date().toISOString(),
      payload: input.payload ?? {},
    };
    await this.enqueue(event);
    return event;
  }

  /** Enqueues an event that already has its id (used when a caller must know the id first, and for re-sends). */
  async enqueue(event: AuditEvent): Promise<void> {
    // The id column is a uuid: PostgreSQL would hand back another spelling (lowercase) than
    // the one hashed into the chain, and /audit/verify would then report the row as altered.
    if (!CANONICAL_UUID.test(event.id))
      throw new Error(`audit event id '${event.id}' is not a lowercase, hyphenated UUID`);
    // Within a second or REDIS_UNAVAILABLE (503): the caller's action does not happen (fail closed).
    await enqueueWithin(this.queue, AuditJobName.Event, event, { jobId: event.id });
    this.metrics.auditEnqueued.inc();
  }
}
