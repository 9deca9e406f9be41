import type { AuditEvent } from './audit-event';

/** The audit queue's job catalogue: one name per job kind, a discriminated union of their data. */
export enum AuditJobName {
  Event = 'audit.event',
}

export type AuditJob = { name: AuditJobName.Event; data: AuditEvent };
