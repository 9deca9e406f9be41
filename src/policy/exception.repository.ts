import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Exception } from './evaluate';

/** An exception as stored: the core's Exception plus its lifecycle timestamps. */
export interface ExceptionRecord extends Exception {
  createdAt: Date;
  expiredRecordedAt: Date | null;
}

interface Row {
  id: string;
  rule: string;
  principal_id: string | null;
  team: string | null;
  image_repository: string | null;
  image_digest: string | null;
  requester: string;
  approver: string;
  ticket: string;
  expires_at: Date;
  created_at: Date;
  expired_recorded_at: Date | null;
}

function toRecord(r: Row): ExceptionRecord {
  const rec: ExceptionRecord = {
    id: r.id,
    rule: r.rule,
    image: {},
    requester: r.requester,
    approver: r.approver,
    ticket: r.ticket,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    expiredRecordedAt: r.expired_recorded_at,
  };
  if (r.principal_id !== null) rec.principalId = r.principal_id;
  if (r.team !== null) rec.team = r.team;
  if (r.image_repository !== null) rec.image.repository = r.image_repository;
  if (r.image_digest !== null) rec.image.digest = r.image_digest;
  return rec;
}

/** Exceptions (policy waivers) and the bookkeeping of their expiry. */
@Injectable()
export class ExceptionRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(e: Exception): Promise<ExceptionRecord> {
    const rows: Row[] = await this.ds.query(
      `INSERT INTO policy_exceptions
         (id, rule, principal_id, team, image_repository, image_digest, requester, approver, ticket, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        e.id,
        e.rule,
        e.principalId ?? null,
        e.team ?? null,
        e.image.repository ?? null,
        e.image.digest ?? null,
        e.requester,
        e.approver,
        e.ticket,
        e.expiresAt,
      ],
    );
    return toRecord(rows[0]);
  }

  async list(opts: { live?: boolean } = {}): Promise<ExceptionRecord[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM policy_exceptions ${opts.live ? 'WHERE expires_at > now()' : ''} ORDER BY created_at, id`,
    );
    return rows.map(toRecord);
  }

  /** Exceptions that existed at some point in [from, to): what a replay over that window may honour. */
  async listOverlapping(from: Date, to: Date): Promise<ExceptionRecord[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM policy_exceptions WHERE created_at < $2 AND expires_at > $1 ORDER BY created_at, id`,
      [from, to],
    );
    return rows.map(toRecord);
  }

  /**
   * Hands expired exceptions whose expiry is not yet recorded to `record`, then marks them,
   * all in one transaction. SKIP LOCKED lets several nodes sweep without recording one
   * expiry twice; if `record` throws, nothing is marked and the next sweep retries.
   */
  async sweepExpired(record: (expired: ExceptionRecord[]) => Promise<void>, batch = 100): Promise<number> {
    return this.ds.transaction(async (m) => {
      const rows: Row[] = await m.query(
        `SELECT * FROM policy_exceptions WHERE expired_recorded_at IS NULL AND expires_at <= now()
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batch],
      );
      if (rows.length === 0) return 0;
      await record(rows.map(toRecord));
      await m.query(`UPDATE policy_exceptions SET expired_recorded_at = now() WHERE id = ANY($1::uuid[])`, [
        rows.map((r) => r.id),
      ]);
      return rows.length;
    });
  }
}
