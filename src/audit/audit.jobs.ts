import type { AuditEvent } from './audit-event';

/**
 * The audit queue's job catalogue: one name per job kind, a discriminated union of their data.
 * A job may carry many events; each keeps its own id, and the chain's SQL dedupes on it.
 */
export enum AuditJobName {
  /** One event; jobId = its id. Also the shape of jobs enqueued before grouped jobs existed. */
  Event = 'audit.event',
  /** Several events, committed in this order, contiguously; jobId = a digest of their ids. */
  Events = 'audit.events',
}

export type AuditJob =
  | { name: AuditJobName.Event; data: AuditEvent }
  | { name: AuditJobName.Events; data: { events: AuditEvent[] } };

/** Most events one job carries: bounds a job's size in Redis and the worker's memory (concurrency × this). */
export const MAX_EVENTS_PER_JOB = 64;

/** The events a job carries, in order; throws for a job name this catalogue does not know. */
export function eventsOf(job: { name: string; data: unknown }): AuditEvent[] {
  const j = job as AuditJob;
  switch (j.name) {
    case AuditJobName.Event:
      return [j.data];
    case AuditJobName.Events:
      return j.data.events;
    default:
      throw new Error(`unknown audit job ${String(job.name)}`);
  }
}

export const auditJobShapes = {
  single: (event: AuditEvent): AuditJob => ({ name: AuditJobName.Event, data: event }),
  group: (events: AuditEvent[]): AuditJob => ({ name: AuditJobName.Events, data: { events } }),
};
