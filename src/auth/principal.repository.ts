import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal, Role } from '../platform/http';

@Injectable()
export class PrincipalRepository {
  constructor(private readonly ds: DataSource) {}

  async find(id: string): Promise<Principal | undefined> {
    const rows: Array<{ id: string; role: Role; teams: string[] }> = await this.ds.query(
      'SELECT id, role, teams FROM principals WHERE id = $1',
      [id],
    );
    return rows[0];
  }

  async list(): Promise<Principal[]> {
    return this.ds.query('SELECT id, role, teams FROM principals ORDER BY id');
  }

  /** Inserts a principal; false when the id is taken. */
  async insert(p: Principal, kind: 'user' | 'service' | 'builtin', createdBy: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `INSERT INTO principals (id, kind, role, teams, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [p.id, kind, p.role, p.teams, createdBy],
    );
    return rows.length === 1;
  }
}
