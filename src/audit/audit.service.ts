import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { WardenMetrics } from '../platform/metrics';
import { QueueName, ReplicaWait } from '../platform/queue';
import type { AuditEvent, AuditEventInput } from './audit-event';
import { auditJobShapes, MAX_EVENTS_PER_JOB } from './audit.jobs';
import { GroupedEnqueuer } from './grouped-enqueuer';

export interface EnqueueOptions {
  /**
   * Gives up: events still waiting for an enqueue in flight are taken back and never sent, and
   * the call rejects with the signal's reason (see GroupedEnqueuer.send). For a caller that
   * bounds how long it waits for Redis, so that an event it reported as not recorded cannot
   * land later.
   */
  signal?: AbortSignal;
}

/**
 * The `audit.unacknowledged` events for events that landed after their request was answered
 * 503: one per subject (a container's story then shows it), naming each event by id and type.
 */
export function unacknowledged(events: AuditEvent[]): AuditEventInput[] {
  const bySubject = new Map<string | undefined, AuditEvent[]>();
  for (const e of events) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e]);
  return [...bySubject].map(([subject, landed]) => ({
    type: 'audit.unacknowledged',
    principal: 'system',
    source: { via: 'system' },
    ...(subject !== undefined && { subject }),
    payload: {
      events: landed.map((e) => ({ id: e.id, type: e.type })),
      reason:
        'recorded after the request was answered 503 (Redis did not confirm in time): what these events describe was not done',
    },
  }));
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The API side of the audit trail: fixes each event's id and time, then hands it to the queue.
 * Every method resolves only once Redis has the job that carries the event (AOF on): from then
 * on the event survives restarts and a Postgres outage. A caller must not act before that.
 *
 * Events travel many per job (`GroupedEnqueuer`): the events of one `recordAll` always share
 * jobs, and events recorded while an enqueue is in flight (concurrent requests) ride together
 * in the next one. Each event keeps its own id and the chain's SQL dedupes on it, so a retried
 * enqueue or job is still one row per event.
 */
@Injectable()
export class AuditService {
  private readonly log = new Logger('audit');
  private readonly enqueuer: GroupedEnqueuer<AuditEvent>;

  constructor(
    @InjectQueue(QueueName.Audit) queue: Queue,
    private readonly metrics: WardenMetrics,
    replicas: ReplicaWait,
  ) {
    this.enqueuer = new GroupedEnqueuer(queue, auditJobShapes, MAX_EVENTS_PER_JOB, {
      confirm: () => replicas.confirm(queue),
      onLateLanding: (events) => this.disown(events),
    });
  }

  /**
   * Events that reached the trail although their callers were answered 503, so what they
   * describe was not done (a start refused at the shim's READY step, say): the trail cannot be
   * rewritten, so it gets one `audit.unacknowledged` event per subject naming them. Retried
   * until Redis takes it; Redis is back by then (the void that found them landed was answered).
   */
  private disown(events: AuditEvent[], tries = 0): void {
    this.recordAll(unacknowledged(events)).catch((err: Error) => {
      if (tries >= 60)
        return this.log.error(
          `events ${events.map((e) => e.id).join(', ')} landed after a 503 and could not be marked: ${err.message}`,
        );
      setTimeout(() => this.disown(events, tries + 1), 1000 * Math.min(2 ** tries, 30)).unref();
    });
  }

  async record(input: AuditEventInput, opts?: EnqueueOptions): Promise<AuditEvent> {
    const [event] = await this.recordAll([input], opts);
    return event;
  }

  /**
   * Records several events as one group: they are enqueued together (one job while they fit in
   * one) and committed to the chain in this order, contiguously. Resolves once all are durable.
   */
  async recordAll(inputs: AuditEventInput[], opts?: EnqueueOptions): Promise<AuditEvent[]> {
    const occurredAt = new Date().toISOString();
    const events = inputs.map((input): AuditEvent => ({
      ...input,
      id: randomUUID(),
      occurredAt,
      payload: input.payload ?? {},
    }));
    await this.enqueueAll(events, opts);
    return events;
  }

  /** Enqueues an event that already has its id (used when a caller must know the id first, and for re-sends). */
  async enqueue(event: AuditEvent, opts?: EnqueueOptions): Promise<void> {
    await this.enqueueAll([event], opts);
  }

  /** {@link enqueue} for a group: every id is checked first, so a bad one enqueues none of them. */
  async enqueueAll(events: AuditEvent[], opts?: EnqueueOptions): Promise<void> {
    // The id column is a uuid: PostgreSQL would hand back another spelling (lowercase) than
    // the one hashed into the chain, and /audit/verify would then report the row as altered.
    for (const event of events)
      if (!CANONICAL_UUID.test(event.id))
        throw new Error(`audit event id '${event.id}' is not a lowercase, hyphenated UUID`);
    await this.enqueuer.send(events, opts?.signal);
    this.metrics.auditEnqueued.inc(events.length);
  }
}
