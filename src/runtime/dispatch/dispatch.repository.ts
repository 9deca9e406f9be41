import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL, PlainSql } from '../../platform/database';

/** The dispatch columns of launch_requests: sent, claimed by its node, done with a container. */
@Injectable()
export class DispatchRepository {
  private readonly sql: PlainSql;

  constructor(@Inject(PG_POOL) pool: Pool) {
    this.sql = new PlainSql(pool);
  }

  async queued(launchRequestId: string, node: string): Promise<void> {
    await this.sql.count(
      `UPDATE launch_requests SET dispatch_node = $2, dispatch_state = 'queued'
       WHERE id = $1 AND dispatch_state IS NULL`,
      [launchRequestId, node],
    );
  }

  /** The guard: true for exactly one caller, the first to claim it on `node`. */
  async claim(launchRequestId: string, node: string): Promise<boolean> {
    return (
      (await this.sql.count(
        `UPDATE launch_requests SET dispatch_state = 'claimed'
         WHERE id = $1 AND dispatch_node = $2 AND dispatch_state = 'queued'`,
        [launchRequestId, node],
      )) === 1
    );
  }

  async finished(launchRequestId: string, containerId: string | null): Promise<void> {
    await this.sql.count(`UPDATE launch_requests SET dispatch_state = $2, container_id = $3 WHERE id = $1`, [
      launchRequestId,
      containerId ? 'done' : 'failed',
      containerId,
    ]);
  }

  async state(
    launchRequestId: string,
  ): Promise<{ state: string | null; node: string | null; containerId: string | null } | undefined> {
    const [r] = await this.sql.rows<{
      state: string | null;
      node: string | null;
      containerId: string | null;
    }>(
      `SELECT dispatch_state AS state, dispatch_node AS node, container_id AS "containerId"
       FROM launch_requests WHERE id = $1`,
      [launchRequestId],
    );
    return r;
  }
}
