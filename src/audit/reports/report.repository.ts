import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { ReportParams } from './compliance-report.types';

export type ReportStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ReportRecord {
  id: string;
  kind: string;
  params: ReportParams;
  status: ReportStatus;
  requestedBy: string;
  requestedAt: string;
  finishedAt?: string;
  error?: string;
  files: Array<{ name: string; contentType: string; size: number; sha256: string }>;
}

interface ReportRow {
  id: string;
  kind: string;
  params: ReportParams;
  status: ReportStatus;
  requested_by: string;
  requested_at: Date;
  finished_at: Date | null;
  error: string | null;
}

function fromRow(r: ReportRow): Omit<ReportRecord, 'files'> {
  return {
    id: r.id,
    kind: r.kind,
    params: r.params,
    status: r.status,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at.toISOString(),
    finishedAt: r.finished_at?.toISOString(),
    error: r.error ?? undefined,
  };
}

@Injectable()
export class ReportRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(id: string, kind: string, params: ReportParams, by: string): Promise<void> {
    await this.ds.query(
      `INSERT INTO reports (id, kind, params, status, requested_by) VALUES ($1, $2, $3, 'queued', $4) ON CONFLICT (id) DO NOTHING`,
      [id, kind, JSON.stringify(params), by],
    );
  }

  /**
   * Reports newest first, without their files' bytes; `teams`, when given, keeps those whose
   * scope is one of the teams (a deployer's view).
   */
  async list(q: { limit: number; before?: string; teams?: readonly string[] }): Promise<ReportRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [q.limit];
    if (q.teams) {
      params.push(q.teams);
      where.push(`r.params->>'team' = ANY($${params.length}::text[])`);
    }
    if (q.before) {
      params.push(q.before);
      where.push(`r.requested_at < $${params.length}`);
    }
    const rows: Array<ReportRow & { files: ReportRecord['files'] }> = await this.ds.query(
      `SELECT r.*, coalesce((SELECT jsonb_agg(jsonb_build_object('name', f.name, 'contentType', f.content_type,
                                    'size', octet_length(f.data), 'sha256', f.sha256) ORDER BY f.name)
                               FROM report_files f WHERE f.report_id = r.id), '[]') AS files
         FROM reports r ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY r.requested_at DESC, r.id LIMIT $1`,
      params,
    );
    return rows.map((r) => ({ ...fromRow(r), files: r.files }));
  }

  async get(id: string): Promise<ReportRecord | undefined> {
    const rows: ReportRow[] = await this.ds.query('SELECT * FROM reports WHERE id = $1', [id]);
    const r = rows[0];
    if (!r) return undefined;
    const files: Array<{ name: string; content_type: string; size: number; sha256: string }> =
      await this.ds.query(
        'SELECT name, content_type, octet_length(data) AS size, sha256 FROM report_files WHERE report_id = $1 ORDER BY name',
        [id],
      );
    return {
      ...fromRow(r),
      files: files.map((f) => ({
        name: f.name,
        contentType: f.content_type,
        size: Number(f.size),
        sha256: f.sha256,
      })),
    };
  }

  async setStatus(id: string, status: ReportStatus, error?: string): Promise<void> {
    await this.ds.query(
      `WITH u AS (UPDATE reports SET status = $2, error = $3, finished_at = CASE WHEN $2 IN ('done', 'failed') THEN now() END WHERE id = $1 RETURNING id) SELECT * FROM u`,
      [id, status, error ?? null],
    );
  }

  /** Replaces the report's files in one transaction: a retried job never leaves half a set. */
  async saveFiles(
    id: string,
    files: Array<{ name: string; contentType: string; data: Buffer }>,
  ): Promise<void> {
    await this.ds.transaction(async (tx) => {
      await tx.query(
        'WITH d AS (DELETE FROM report_files WHERE report_id = $1 RETURNING 1) SELECT count(*) FROM d',
        [id],
      );
      for (const f of files) {
        await tx.query(
          'INSERT INTO report_files (report_id, name, content_type, data, sha256) VALUES ($1, $2, $3, $4, $5)',
          [id, f.name, f.contentType, f.data, createHash('sha256').update(f.data).digest('hex')],
        );
      }
    });
  }

  async file(id: string, name: string): Promise<{ contentType: string; data: Buffer } | undefined> {
    const rows: Array<{ content_type: string; data: Buffer }> = await this.ds.query(
      'SELECT content_type, data FROM report_files WHERE report_id = $1 AND name = $2',
      [id, name],
    );
    return rows[0] && { contentType: rows[0].content_type, data: rows[0].data };
  }
}
