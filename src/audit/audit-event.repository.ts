import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '../platform/canonical';
import type { Scope } from '../platform/scope';
import { admissionLaunchesOf } from './admission-launches';
import { chainHash, GENESIS_HASH } from './audit-chain';
import type { AuditDecision, AuditEvent, AuditRow } from './audit-event';

/** One writer at a time per chain: every append takes this transaction-scoped advisory lock. */
const CHAIN_LOCK = 0x5741_5244; // 'WARD'

export interface AuditQuery {
  from?: Date;
  to?: Date;
  type?: string;
  principal?: string;
  subject?: string;
  decision?: AuditDecision;
  /** Keyset pagination: rows with seq greater than this (ascending order). */
  after?: number;
  /** Keyset pagination: rows with seq less than this (descending order). */
  before?: number;
  /** 'desc' lists the newest first (the review console's live views). */
  order?: 'asc' | 'desc';
  /** Only the events this scope may see (platform/scope; `auditScopeSql`). */
  scope?: Scope;
  limit: number;
}

/**
 * The events a scope sees: those its principal caused, and those about a container, volume or
 * network its teams own — decided by the team its latest `*.created` event recorded (a volume
 * name can be used again), so the story of a removed container stays its team's — or about an image they may use (image_owners).
 * Events from before teams were recorded (no `team` in the created event) are their
 * creator's alone.
 */
export function auditScopeSql(scope: Scope, param: (v: unknown) => string): string | undefined {
  if (scope.all) return undefined;
  const me = param(scope.principal);
  const teams = param(scope.teams);
  return `(a.principal = ${me}
    OR EXISTS (SELECT 1 FROM (SELECT o.payload->>'team' AS team, o.principal FROM audit_events o
                 WHERE o.subject = a.subject AND o.seq <= a.seq
                   AND o.type IN ('container.created', 'volume.created', 'network.created')
                 ORDER BY o.seq DESC LIMIT 1) c
                WHERE c.team = ANY(${teams}::text[]) OR (c.team IS NULL AND c.principal = ${me}))
    OR EXISTS (SELECT 1 FROM image_owners io
                WHERE io.digest = a.subject
                  AND (io.shared OR io.team = ANY(${teams}::text[]) OR (io.team IS NULL AND io.created_by = ${me}))))`;
}

export interface ChainVerification {
  ok: boolean;
  rows: number;
  head?: { seq: number; hash: string };
  firstBroken?: { seq: number; id: string; reason: string };
}

interface DbRow {
  seq: string;
  id: string;
  type: string;
  occurred_at: Date;
  recorded_at: Date;
  principal: string;
  source: AuditEvent['source'];
  subject: string | null;
  decision: AuditDecision | null;
  policy_hash: string | null;
  payload: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function toRow(r: DbRow): AuditRow {
  return {
    seq: Number(r.seq),
    id: r.id,
    type: r.type as AuditRow['type'],
    occurredAt: r.occurred_at.toISOString(),
    recordedAt: r.recorded_at.toISOString(),
    principal: r.principal,
    source: r.source,
    subject: r.subject ?? undefined,
    decision: r.decision ?? undefined,
    policyHash: r.policy_hash ?? undefined,
    payload: r.payload,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

@Injectable()
export class AuditEventRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Appends events to the chain in one transaction and returns how many were new. Under the
   * chain lock it drops ids already stored (a retried job, an event enqueued twice), so the
   * chain never gets a gap; `ON CONFLICT DO NOTHING` stays as the last guard.
   *
   * Four round trips: BEGIN, the lock, one read of both the ids already stored and the head,
   * the insert (COMMIT rides on TypeORM's). The lock must be its own statement: a statement's
   * snapshot is taken before it starts, so a head read in the statement that waited for the
   * lock would miss the rows its previous holder just committed.
   */
  async append(events: AuditEvent[]): Promise<number> {
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    if (unique.length === 0) return 0;
    return this.ds.transaction(async (tx: EntityManager) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`);
      const [state]: Array<{ seq: string | null; hash: string | null; existing: string[] }> = await tx.query(
        `SELECT head.seq, head.hash,
                ARRAY(SELECT id::text FROM audit_events WHERE id = ANY($1::uuid[])) AS existing
           FROM (SELECT NULL) AS one
           LEFT JOIN LATERAL (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) head ON true`,
        [unique.map((e) => e.id)],
      );
      const seen = new Set(state.existing);
      const fresh = seen.size ? unique.filter((e) => !seen.has(e.id)) : unique;
      if (fresh.length === 0) return 0;
      let seq = state.seq === null ? 0 : Number(state.seq);
      let prev = state.hash ?? GENESIS_HASH;
      const cols: unknown[][] = Array.from({ length: 12 }, () => []);
      for (const e of fresh) {
        seq += 1;
        // Encoded once: hashed as part of the canonical event and stored as the jsonb text.
        const encoded = { source: canonicalJson(e.source), payload: canonicalJson(e.payload) };
        const hash = chainHash(prev, e, seq, encoded);
        const values = [
          seq,
          e.id,
          e.type,
          e.occurredAt,
          e.principal,
          encoded.source,
          e.subject ?? null,
          e.decision ?? null,
          e.policyHash ?? null,
          encoded.payload,
          prev,
          hash,
        ];
        values.forEach((v, i) => cols[i].push(v));
        prev = hash;
      }
      await tx.query(
        `INSERT INTO audit_events
           (seq, id, type, occurred_at, principal, source, subject, decision, policy_hash, payload, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::jsonb[],
                              $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::text[])
         ON CONFLICT (id) DO NOTHING`,
        cols,
      );
      await this.insertAdmissionLaunches(tx, fresh);
      return fresh.length;
    });
  }

  /**
   * The launch requests Kubernetes reviews' events carry (admission-launches.ts), committed with
   * their events: one more statement, only in a batch that has such events.
   */
  private async insertAdmissionLaunches(tx: EntityManager, events: AuditEvent[]): Promise<void> {
    const rows = admissionLaunchesOf(events);
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, policy_version, created_at)
       SELECT id, principal, ARRAY(SELECT jsonb_array_elements_text(teams)), request, spec, decision,
              policy_version, created_at
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[], $5::jsonb[], $6::jsonb[], $7::text[],
                     $8::timestamptz[])
           AS t(id, principal, teams, request, spec, decision, policy_version, created_at)
       ON CONFLICT (id) DO NOTHING`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.principal),
        rows.map((r) => JSON.stringify(r.principalTeams)),
        rows.map((r) => JSON.stringify(r.request)),
        rows.map((r) => JSON.stringify(r.spec)),
        rows.map((r) => JSON.stringify(r.decision ?? null)),
        rows.map((r) => r.policyVersion),
        rows.map((r) => r.createdAt),
      ],
    );
  }

  async list(q: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.after !== undefined) add('seq > ?', q.after);
    if (q.before !== undefined) add('seq < ?', q.before);
    if (q.from) add('occurred_at >= ?', q.from);
    if (q.to) add('occurred_at < ?', q.to);
    if (q.type) add('type = ?', q.type);
    if (q.principal) add('principal = ?', q.principal);
    if (q.subject) add('subject = ?', q.subject);
    if (q.decision) add('decision = ?', q.decision);
    const scoped =
      q.scope &&
      auditScopeSql(q.scope, (v) => {
        params.push(v);
        return `$${params.length}`;
      });
    if (scoped) where.push(scoped);
    params.push(q.limit);
    const rows: DbRow[] = await this.ds.query(
      `SELECT * FROM audit_events a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRow);
  }

  async get(seq: number): Promise<AuditRow | undefined> {
    const rows: DbRow[] = await this.ds.query('SELECT * FROM audit_events WHERE seq = $1', [seq]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async count(): Promise<number> {
    const [r]: Array<{ n: string }> = await this.ds.query('SELECT count(*) AS n FROM audit_events');
    return Number(r.n);
  }

  /**
   * Recomputes the whole chain in seq order, a page at a time, and names the first row whose
   * position, link or hash does not hold.
   */
  async verify(pageSize = 1000): Promise<ChainVerification> {
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    for (;;) {
      const page: DbRow[] = await this.ds.query(
        'SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2',
        [expectedSeq, pageSize],
      );
      for (const raw of page) {
        const r = toRow(raw);
        const broken = (reason: string): ChainVerification => ({
          ok: false,
          rows,
          head: rows ? { seq: expectedSeq - 1, hash: prev } : undefined,
          firstBroken: { seq: r.seq, id: r.id, reason },
        });
        if (r.seq !== expectedSeq)
          return broken(`expected seq ${expectedSeq}, found ${r.seq}: rows are missing`);
        if (r.prevHash !== prev) return broken(`prev_hash does not match the hash of seq ${r.seq - 1}`);
        if (chainHash(prev, r, r.seq) !== r.hash)
          return broken('hash does not match the row contents: the row was changed');
        prev = r.hash;
        expectedSeq += 1;
        rows += 1;
      }
      if (page.length < pageSize) break;
      // Hashing a page is CPU work on the event loop: let waiting requests run between pages.
      await new Promise((r) => setImmediate(r));
    }
    return { ok: true, rows, head: rows ? { seq: expectedSeq - 1, hash: prev } : undefined };
  }
}
