import { canonicalJson, sha256Hex } from '../platform/canonical';
import type { AuditEvent } from './audit-event';

/** prev_hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hashed form of a row: canonical JSON of
 * `{seq, id, type, occurredAt, principal, source, subject, decision, policyHash, payload}`.
 * `seq` is inside it, so moving a row breaks the chain as surely as editing it; optional
 * fields are null, never absent, so the form is the same whether the event came from the
 * queue or was read back from Postgres.
 *
 * Written out with the keys already in canonical (UTF-16) order rather than built as an
 * object and sorted: the worker hashes every event it commits, and this is half the cost of
 * the generic path (bench/README.md, audit-ingest). `canonicalEventGeneric` in the spec
 * pins the two to the same bytes. `source` and `payload` are passed in already encoded
 * because the worker stores those same strings as the jsonb columns.
 */
export function canonicalEvent(e: AuditEvent, seq: number, source?: string, payload?: string): string {
  let out = '{';
  const member = (key: string, encoded: string | undefined) => {
    // canonicalJson drops undefined members; null stays.
    if (encoded === undefined) return;
    out += `${out.length > 1 ? ',' : ''}"${key}":${encoded}`;
  };
  member('decision', encode(e.decision ?? null));
  member('id', encode(e.id));
  member('occurredAt', encode(e.occurredAt));
  member('payload', payload ?? encode(e.payload));
  member('policyHash', encode(e.policyHash ?? null));
  member('principal', encode(e.principal));
  member('seq', encode(seq));
  member('source', source ?? encode(e.source));
  member('subject', encode(e.subject ?? null));
  member('type', encode(e.type));
  return `${out}}`;
}

function encode(v: unknown): string | undefined {
  if (v === undefined || typeof v === 'function') return undefined;
  return typeof v === 'string' ? JSON.stringify(v) : canonicalJson(v);
}

/** hash = sha256(prev_hash || canonical(event)) */
export function chainHash(
  prevHash: string,
  e: AuditEvent,
  seq: number,
  encoded?: { source: string; payload: string },
): string {
  return sha256Hex(prevHash + canonicalEvent(e, seq, encoded?.source, encoded?.payload));
}
