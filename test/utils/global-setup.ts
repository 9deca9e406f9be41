import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres';
import { migrate } from '../../src/platform/database/migrate';
import { MIGRATED_TEMPLATE, sql } from './services';

/**
 * One embedded PostgreSQL for the whole integration run (initdb is the slow part); each test
 * file makes its own database in it (test/utils/services.ts). Never the machine's own
 * PostgreSQL on 5432: a user's machine has none. The schema is migrated once, into a template
 * database that each test database is copied from (a copy is several times faster than running
 * every migration again at each test Warden's boot; the boot still runs `migrate up`, which then
 * finds nothing to do, and test/integration/migrations.test.ts starts from an empty one).
 */
const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-test-pg-'));
  const pg = await startEmbeddedPostgres(dir, quiet);
  process.env.WARDEN_TEST_PG_URL = pg.url;
  const admin = new URL(pg.url);
  admin.pathname = '/postgres';
  await sql(admin.toString(), `CREATE DATABASE ${MIGRATED_TEMPLATE}`);
  const template = new URL(pg.url);
  template.pathname = `/${MIGRATED_TEMPLATE}`;
  await migrate(template.toString(), 'up');
  (globalThis as Record<string, unknown>).__wardenTestPg = { pg, dir };
}
