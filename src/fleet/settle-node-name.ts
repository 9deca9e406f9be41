import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger as Pino } from 'pino';
import { NODE_NAME_FILE, rememberNodeName, type WardenConfig } from '../platform/config';
import { createDataSource, PlainSql } from '../platform/database';

/**
 * Fixes this node's name for good at its data dir's first start under named nodes, before
 * anything records it (docs/fleet.md). Warden once named every node by the plain host name;
 * the default is now the host name plus a hash of the data dir. A data dir whose containers
 * are recorded under the plain host name, and none under the new default, keeps the plain
 * name, so an upgrade still adopts its containers. A name from the environment is kept as it
 * is. Either way the name is written into the data dir, and later starts read it from there.
 */
export async function settleNodeName(config: WardenConfig, databaseUrl: string, logger: Pino): Promise<void> {
  const explicit = config.source.WARDEN_NODE_NAME ?? config.source.WARDEN_NODE;
  const kept = fs.existsSync(path.join(config.dataDir, NODE_NAME_FILE));
  if (!explicit && !kept) {
    const plain = os.hostname();
    const ds = await createDataSource(databaseUrl, {
      poolSize: 1,
      connectTimeoutMs: config.database.connectTimeoutMs,
    }).initialize();
    try {
      const [row] = await new PlainSql(ds).rows<{ plain: number; named: number }>(
        `SELECT count(*) FILTER (WHERE node = $1)::int AS plain, count(*) FILTER (WHERE node = $2)::int AS named
           FROM containers WHERE node IN ($1, $2)`,
        [plain, config.runtime.node],
      );
      if (row.plain > 0 && row.named === 0) {
        logger.info(
          `node name: '${plain}' (the plain host name its ${row.plain} container(s) were recorded under), not '${config.runtime.node}'`,
        );
        config.runtime.node = plain;
      }
    } finally {
      await ds.destroy();
    }
  }
  rememberNodeName(config.dataDir, config.runtime.node);
}
