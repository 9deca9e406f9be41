import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal, Role } from '../platform/http';

export interface SocketPrincipalMapping {
  uid: number;
  principalId: string;
  createdAt: string;
  createdBy: string;
}

interface Row {
  uid: string;
  principal_id: string;
  created_at: Date;
  created_by: string;
}

const toMapping = (r: Row): SocketPrincipalMapping => ({
  uid: Number(r.uid),
  principalId: r.principal_id,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
});

/** uid → principal for docker-socket peers (table socket_principals). */
@Injectable()
export class SocketPrincipalRepository {
  constructor(private readonly ds: DataSource) {}

  async principalFor(uid: number): Promise<Principal | undefined> {
    const rows: Array<{ id: string; role: Role; teams: string[] }> = await this.ds.query(
      `SELECT p.id, p.role, p.teams FROM socket_principals s JOIN principals p ON p.id = s.principal_id
        WHERE s.uid = $1`,
      [uid],
    );
    return rows[0];
  }

  async list(): Promise<SocketPrincipalMapping[]> {
    const rows: Row[] = await this.ds.query('SELECT * FROM socket_principals ORDER BY uid');
    return rows.map(toMapping);
  }

  /** Sets (or replaces) the mapping; `onlyIfAbsent` leaves an existing one alone and answers false. */
  async put(uid: number, principalId: string, by: string, onlyIfAbsent = false): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `INSERT INTO socket_principals (uid, principal_id, created_by) VALUES ($1, $2, $3)
       ON CONFLICT (uid) DO ${onlyIfAbsent ? 'NOTHING' : 'UPDATE SET principal_id = EXCLUDED.principal_id, created_at = now(), created_by = EXCLUDED.created_by'}
       RETURNING uid`,
      [uid, principalId, by],
    );
    return rows.length === 1;
  }

  async delete(uid: number): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      'WITH d AS (DELETE FROM socket_principals WHERE uid = $1 RETURNING uid) SELECT uid FROM d',
      [uid],
    );
    return rows.length === 1;
  }
}
