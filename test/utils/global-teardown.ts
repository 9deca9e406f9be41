import * as fs from 'node:fs';
import type { EmbeddedPostgresHandle } from '../../src/platform/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const held = (globalThis as Record<string, unknown>).__wardenTestPg as
    { pg: EmbeddedPostgresHandle; dir: string } | undefined;
  if (!held) return;
  await held.pg.stop();
  fs.rmSync(held.dir, { recursive: true, force: true });
}
