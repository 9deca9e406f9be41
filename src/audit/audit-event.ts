import type { CallerSource } from '../platform/http';

/**
 * An audit event: who did what to which subject, from where, and under which decision.
 * The event types Warden records; a new kind of action gets a new type here.
 */
export const AUDIT_EVENT_TYPES = [
  'service.started',
  'service.stopped',
  'service.down',
  'api.call',
  'token.created',
  'token.revoked',
  'token.used',
  'principal.created',
  'policy.version.created',
  'policy.activated',
  'policy.bound',
  'policy.unbound',
  'policy.decision',
  'exception.created',
  'exception.expired',
  'image.imported',
  'image.pulled',
  'image.removed',
  'image.pruned',
  'image.tagged',
  'image.committed',
  'image.saved',
  'image.pushed',
  'registry.upstream.created',
  'registry.upstream.updated',
  'registry.upstream.removed',
  'container.created',
  'container.started',
  'container.died',
  'container.removed',
  'network.created',
  'network.removed',
  'network.connected',
  'network.disconnected',
  'network.published',
  'container.files.copied',
  'container.paused',
  'container.unpaused',
  'container.renamed',
  'container.updated',
  'container.health_status',
  'volume.created',
  'volume.mounted',
  'volume.removed',
  'exec.started',
  'exec.ended',
  'exec.recordings.pruned',
  // Events that landed although their request was answered 503 (audit.service.ts, disown).
  'audit.unacknowledged',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** `interrupted`: a request whose decision event was never recorded (policy/interrupted-decisions.ts). */
export type AuditDecision = 'allowed' | 'denied' | 'would-deny' | 'interrupted';

/** How the actor reached Warden. */
export type AuditSource = CallerSource;

export interface AuditEventInput {
  type: AuditEventType;
  principal: string;
  source: AuditSource;
  subject?: string;
  decision?: AuditDecision;
  policyHash?: string;
  payload?: Record<string, unknown>;
}

/** As enqueued: the id (also the BullMQ jobId) and time are fixed by the API, not the worker. */
export interface AuditEvent extends Omit<AuditEventInput, 'payload'> {
  id: string;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** As stored: position and links in the chain. */
export interface AuditRow extends AuditEvent {
  seq: number;
  recordedAt: string;
  prevHash: string;
  hash: string;
}
