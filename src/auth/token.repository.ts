import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PlainSql } from '../platform/database';
import type { Principal, Role } from '../platform/http';

export interface TokenRecord {
  id: string;
  principalId: string;
  name: string;
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  revokedAt?: string;
}

interface TokenRow {
  id: string;
  principal_id: string;
  name: string;
  created_at: Date;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const toRecord = (r: TokenRow): TokenRecord => ({
  id: r.id,
  principalId: r.principal_id,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  expiresAt: r.expires_at?.toISOString(),
  revokedAt: r.revoked_at?.toISOString(),
});

@Injectable()
export class TokenRepository {
  /** Every authenticated request looks its token up: no QueryRunner per lookup (see PlainSql). */
  private readonly sql: PlainSql;

  constructor(private readonly ds: DataSource) {
    this.sql = new PlainSql(ds);
  }

  /** The principal owning a live (not revoked, not expired) token with this hash. */
  async findLive(tokenHash: string): Promise<{ tokenId: string; principal: Principal } | undefined> {
    const rows = await this.sql.rows<{ id: string; principal_id: string; role: Role; teams: string[] }>(
      `SELECT t.id, t.principal_id, p.role, p.teams FROM api_tokens t JOIN principals p ON p.id = t.principal_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())`,
      [tokenHash],
    );
    const r = rows[0];
    return r && { tokenId: r.id, principal: { id: r.principal_id, role: r.role, teams: r.teams } };
  }

  async insert(t: {
    id: string;
    principalId: string;
    name: string;
    tokenHash: string;
    createdBy: string;
    expiresAt?: Date;
  }) {
    const [row]: TokenRow[] = await this.ds.query(
      `INSERT INTO api_tokens (id, principal_id, name, token_hash, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [t.id, t.principalId, t.name, t.tokenHash, t.createdBy, t.expiresAt ?? null],
    );
    return toRecord(row);
  }

  async list(): Promise<TokenRecord[]> {
    const rows: TokenRow[] = await this.ds.query('SELECT * FROM api_tokens ORDER BY created_at');
    return rows.map(toRecord);
  }

  /** Marks a token revoked; returns undefined when there is no such live token. */
  async revoke(id: string, by: string): Promise<TokenRecord | undefined> {
    // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE … RETURNING.
    const rows: TokenRow[] = await this.ds.query(
      `WITH u AS (UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING *)
       SELECT * FROM u`,
      [id, by],
    );
    return rows[0] && toRecord(rows[0]);
  }
}
