import { createHash } from 'node:crypto';

/**
 * An audit event id derived from what the event is about, so that recording the same fact
 * twice (a retried sweep, a boot that crashed before commit) yields one row: the audit
 * queue uses the id as jobId and the worker inserts with ON CONFLICT (id) DO NOTHING.
 * Shaped as an RFC 4122 name-based UUID (version 5 bits over sha256 rather than sha1).
 */
export function stableEventId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
