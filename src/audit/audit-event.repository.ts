import { Injectable } from '@nestjs/common';
import type { Pool, QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { poolOf } from '../platform/database';
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

/**
 * A string as an SQL literal, whatever `standard_conforming_strings` says: E'' with quotes and
 * backslashes doubled. (A NUL cannot be sent in a query string; JSON text has none, escaped
 * as \u0000, which PostgreSQL's jsonb then refuses with SQLSTATE 22P05.)
 */
function sqlString(s: string): string {
  return `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * The launch requests Kubernetes reviews' events carry (admission-launches.ts), as one
 * statement of the append's second string (empty when the batch has none): committed with
 * their events, or not at all.
 */
function admissionLaunchesSql(events: AuditEvent[]): string {
  const rows = admissionLaunchesOf(events);
  if (rows.length === 0) return '';
  const json = JSON.stringify(
    rows.map((r) => ({
      id: r.id,
      principal: r.principal,
      teams: r.principalTeams,
      request: r.request,
      spec: r.spec,
      decision: r.decision ?? null,
      policy_version: r.policyVersion,
      created_at: r.createdAt,
    })),
  );
  return `INSERT INTO launch_requests (id, principal, principal_teams, request, spec, decision, policy_version, created_at)
          SELECT id, principal, ARRAY(SELECT jsonb_array_elements_text(teams)), request, spec, decision,
                 policy_version, created_at
            FROM jsonb_to_recordset(${sqlString(json)}::jsonb)
              AS t(id uuid, principal text, teams jsonb, request jsonb, spec jsonb, decision jsonb,
                   policy_version text, created_at timestamptz)
          ON CONFLICT (id) DO NOTHING;`;
}

@Injectable()
export class AuditEventRepository {
  private readonly pool: Pool;

  constructor(private readonly ds: DataSource) {
    this.pool = poolOf(ds);
  }

  /**
   * Appends events to the chain in one transaction and returns how many were new. Under the
   * chain lock it drops ids already stored (a retried job, an event enqueued twice), so the
   * chain never gets a gap; `ON CONFLICT DO NOTHING` stays as the last guard.
   *
   * Two round trips, each one simple-protocol string of several statements:
   *
   *   1. BEGIN; the lock; one read of the head and of the ids already stored
   *   2. the insert; COMMIT
   *
   * instead of five (BEGIN, lock, read, insert, COMMIT each awaited): a launch's events arrive
   * one by one, so most commits carry one event and pay every round trip for it
   * (bench/README.md, sixth round). The lock stays its own statement: in READ COMMITTED each
   * statement of a string takes its own snapshot after the previous one finished, so the read
   * sees what the lock's previous holder committed. The simple protocol has no parameters:
   * values go in as escaped JSON literals, and PostgreSQL's own casts
   * check them as the typed parameters did (a bad uuid, a NUL byte: SQLSTATE class 22, which
   * the worker treats as a refused item). A failure rolls back before the connection goes
   * back to the pool, or the connection is dropped.
   */
  async append(events: AuditEvent[]): Promise<number> {
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    if (unique.length === 0) return 0;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const ids = sqlString(JSON.stringify(unique.map((e) => e.id)));
      const results = (await client.query(
        `BEGIN; SELECT pg_advisory_xact_lock(${CHAIN_LOCK});
         SELECT head.seq, head.hash,
                ARRAY(SELECT id::text FROM audit_events
                       WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text(${ids}::jsonb))::uuid[])) AS existing
           FROM (SELECT NULL) AS one
           LEFT JOIN LATERAL (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) head ON true`,
      )) as unknown as QueryResult[];
      const state = results[2].rows[0] as { seq: string | null; hash: string | null; existing: string[] };
      const seen = new Set(state.existing);
      const fresh = seen.size ? unique.filter((e) => !seen.has(e.id)) : unique;
      if (fresh.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      let seq = state.seq === null ? 0 : Number(state.seq);
      let prev = state.hash ?? GENESIS_HASH;
      const rows: string[] = [];
      for (const e of fresh) {
        seq += 1;
        // Encoded once: hashed as part of the canonical event and stored as the jsonb text.
        const encoded = { source: canonicalJson(e.source), payload: canonicalJson(e.payload) };
        const hash = chainHash(prev, e, seq, encoded);
        const text = (v: string | undefined) => JSON.stringify(v ?? null);
        rows.push(
          `{"seq":${seq},"id":${text(e.id)},"type":${text(e.type)},"occurred_at":${text(e.occurredAt)},` +
            `"principal":${text(e.principal)},"source":${encoded.source},"subject":${text(e.subject)},` +
            `"decision":${text(e.decision)},"policy_hash":${text(e.policyHash)},"payload":${encoded.payload},` +
            `"prev_hash":"${prev}","hash":"${hash}"}`,
        );
        prev = hash;
      }
      // A review's launch rows go first: the rollup trigger on audit_events reads their teams.
      await client.query(
        `${admissionLaunchesSql(fresh)}
         INSERT INTO audit_events
           (seq, id, type, occurred_at, principal, source, subject, decision, policy_hash, payload, prev_hash, hash)
         SELECT * FROM jsonb_to_recordset(${sqlString(`[${rows.join(',')}]`)}::jsonb)
           AS r(seq bigint, id uuid, type text, occurred_at timestamptz, principal text, source jsonb,
                subject text, decision text, policy_hash text, payload jsonb, prev_hash text, hash text)
         ON CONFLICT (id) DO NOTHING;
         COMMIT`,
      );
      return fresh.length;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.release(broken);
    }
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
