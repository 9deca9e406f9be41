import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres';

/**
 * One embedded PostgreSQL for the whole integration run (initdb is the slow part); each test
 * file makes its own database in it (test/utils/services.ts). Never the machine's own
 * PostgreSQL on 5432: a user's machine has none.
 */
const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-test-pg-'));
  const pg = await startEmbeddedPostgres(dir, quiet);
  process.env.WARDEN_TEST_PG_URL = pg.url;
  (globalThis as Record<string, unknown>).__wardenTestPg = { pg, dir };
}
