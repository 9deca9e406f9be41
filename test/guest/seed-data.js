'use strict';
// Runs on the host before the cgroup v2 guest boots: Warden's embedded PostgreSQL cluster,
// initialised and migrated at native speed, laid out as WARDEN_DATA_DIR/pg is (DIR/data/pg).
// The guest's disk starts with DIR, so its first `warden up` finds the cluster and no pending
// migration: under TCG initdb and the 21 migrations took 60 s of a 140 s start
// (docs/cgroup-v2-guest.md). Uses dist/ (`npm run build`). Usage: node seed-data.js DIR
const path = require('node:path');
const pino = require('pino');
const { startEmbeddedPostgres, migrate } = require('../../dist/src/platform/database');

async function seed(dir) {
  const pg = await startEmbeddedPostgres(path.join(dir, 'data', 'pg'), pino({ base: { seed: 'guest' } }));
  try {
    const applied = await migrate(pg.url, 'up');
    process.stdout.write(`guest-seed: ${applied.length} migration(s) applied\n`);
  } finally {
    await pg.stop();
  }
}

seed(path.resolve(process.argv[2])).catch((err) => {
  process.stderr.write(`guest-seed: ${err.stack}\n`);
  process.exit(1);
});
