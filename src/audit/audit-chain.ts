import { canonicalJson, sha256Hex } from '../platform/canonical/canonical-json';
import type { AuditEvent } from './audit-event';

/** prev_hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hashed form of a row. `seq` is inside it, so moving a row breaks the chain as surely
 * as editing it; optional fields are null, never absent, so the form is the same whether
 * the event came from the queue or was read back from Postgres.
 */
export function canonicalEvent(e: AuditEvent, seq: number): string {
  return canonicalJson({
    seq,
    id: e.id,
    type: e.type,
    occurredAt: e.occurredAt,
    principal: e.principal,
    source: e.source,
    subject: e.subject ?? null,
    decision: e.decision ?? null,
    policyHash: e.policyHash ?? null,
    payload: e.payload,
  });
}

/** hash = sha256(prev_hash || canonical(event)) */
export function chainHash(prevHash: string, e: AuditEvent, seq: number): string {
  return sha256Hex(prevHash + canonicalEvent(e, seq));
}
