import { Client } from 'pg';
import { MIGRATIONS } from '../../migrations';
import { migrate, migrationStatusOf } from '../../src/platform/database';
import { freshDatabase } from '../utils/services';

async function tables(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
    return r.rows.map((x) => x.tablename as string);
  } finally {
    await c.end();
  }
}

describe('migrations on an empty database', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => (db = await freshDatabase({ empty: true })));
  afterAll(() => db.drop());

  it('go up, all the way down, and up again', async () => {
    const names = MIGRATIONS.map((m) => new m().name);
    expect(await migrate(db.url, 'up')).toEqual(names);
    expect(await tables(db.url)).toEqual(
      expect.arrayContaining(['audit_events', 'principals', 'api_tokens', 'warden_migrations']),
    );
    expect((await migrationStatusOf(db.url)).every((m) => m.applied)).toBe(true);
    expect(await migrate(db.url, 'up')).toEqual([]);

    expect(await migrate(db.url, 'down', MIGRATIONS.length)).toEqual([...names].reverse());
    expect(await tables(db.url)).toEqual(['warden_migrations']);
    expect((await migrationStatusOf(db.url)).some((m) => m.applied)).toBe(false);

    expect(await migrate(db.url, 'up')).toEqual(names);
    expect(await tables(db.url)).toContain('audit_events');
  });

  it('each down() removes exactly what its up() created, one step at a time', async () => {
    const created: Record<string, string[]> = {
      CreatePrincipalsAndTokens1795810430407: ['api_tokens', 'principals'],
      CreateAuditEvents1795810430406: ['audit_events'],
      CreatePolicies1795810430500: [
        'launch_requests',
        'policies',
        'policy_bindings',
        'policy_exceptions',
        'policy_versions',
      ],
      CreateImages1795810430600: ['image_layers', 'image_tags', 'images'],
      CreateImageOrigins1795810430610: ['image_origins'],
      CreateContainers1795810430700: ['containers'],
      CreateReports1795810431000: ['report_files', 'reports'],
      CreateSocketPrincipals1795810430800: ['socket_principals'],
      CreateUsageSamples1795810430900: ['usage_samples'],
      CreateRegistryUpstreams1795810431100: ['registry_upstreams'],
      AddUsageBlockIo1796238770481: [],
      CreateNetworks1796233597437: ['networks', 'network_endpoints'],
      CreateVolumes1796233770874: ['container_volumes', 'volumes'],
      AllowPausedContainers1796236776426: [],
      AddTeamOwnership1796282737227: ['image_owners'],
      AddRestartAndHealth1796282813460: [],
      CreateExecRequests1796287400000: ['exec_requests'],
      AddKubernetesBindingKinds1796306751891: [],
      AddUsageVolumeBytes1796312000000: [],
      CreateNodes1796313000000: ['nodes'],
      AddLaunchDispatch1796313100000: [],
      CreateDecisionRollups1796314000000: ['decision_rollups', 'decision_rule_rollups'],
      AddNetworkIpv61796320000000: [],
    };
    expect(Object.keys(created).sort()).toEqual(MIGRATIONS.map((m) => new m().name).sort());
    let expected = await tables(db.url);
    for (const m of [...MIGRATIONS].reverse()) {
      const name = new m().name;
      expect(await migrate(db.url, 'down', 1)).toEqual([name]);
      expected = expected.filter((t) => !created[name].includes(t));
      expect(await tables(db.url)).toEqual(expected);
    }
    await migrate(db.url, 'up');
  });
});

describe('AddTeamOwnership on rows made before it', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => (db = await freshDatabase({ empty: true })));
  afterAll(() => db.drop());

  it('gives existing containers, volumes, networks and images their creator’s first team, admins’ images to everyone', async () => {
    // Down to just before it (the migrations after it are undone too), rows made, then up.
    const before = MIGRATIONS.findIndex((m) => new m().name === 'AddTeamOwnership1796282737227');
    expect(before).toBeGreaterThan(0);
    await migrate(db.url, 'up');
    await migrate(db.url, 'down', MIGRATIONS.length - before);
    expect((await migrationStatusOf(db.url)).filter((m) => m.applied)).toHaveLength(before);
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`INSERT INTO principals (id, kind, role, teams) VALUES
        ('dev', 'user', 'deployer', '{pay,ops}'), ('solo', 'user', 'deployer', '{}'), ('boss', 'user', 'admin', '{}')`);
      const spec = JSON.stringify({});
      for (const [id, by] of [
        ['a', 'dev'],
        ['b', 'solo'],
      ])
        await c.query(
          `INSERT INTO containers (id, name, image, spec, state, node, created_by) VALUES ($1, $2, 'x', $3, 'created', 'n', $4)`,
          [id.repeat(64), `c-${id}`, spec, by],
        );
      await c.query(`INSERT INTO volumes (name, driver, created_by) VALUES ('v', 'local', 'dev')`);
      for (const [d, by] of [
        ['1', 'dev'],
        ['2', 'boss'],
        ['3', 'gone'],
        ['4', 'solo'],
      ])
        await c.query(
          `INSERT INTO images (digest, config_digest, media_type, size, os, architecture, config, created_by)
           VALUES ($1, 'c', 'm', 1, 'linux', 'amd64', '{}', $2)`,
          [`sha256:${d.repeat(64)}`, by],
        );

      await migrate(db.url, 'up');
      const teams = await c.query(`SELECT name, team FROM containers ORDER BY name`);
      expect(teams.rows).toEqual([
        { name: 'c-a', team: 'pay' },
        { name: 'c-b', team: null },
      ]);
      expect((await c.query(`SELECT team FROM volumes`)).rows).toEqual([{ team: 'pay' }]);
      const owners = await c.query(
        `SELECT substr(digest, 8, 1) AS d, team, created_by, shared FROM image_owners ORDER BY digest`,
      );
      expect(owners.rows).toEqual([
        { d: '1', team: 'pay', created_by: 'dev', shared: false },
        { d: '2', team: null, created_by: 'boss', shared: true },
        { d: '3', team: null, created_by: 'gone', shared: true },
        { d: '4', team: null, created_by: 'solo', shared: false },
      ]);

      // down takes the columns and the table away again, and keeps the rows.
      await migrate(db.url, 'down', MIGRATIONS.length - before);
      const cols = await c.query(
        `SELECT table_name FROM information_schema.columns WHERE column_name = 'team' AND table_name IN ('containers', 'volumes', 'networks')`,
      );
      expect(cols.rows).toEqual([]);
      expect((await c.query(`SELECT count(*)::int AS n FROM containers`)).rows[0].n).toBe(2);
    } finally {
      await c.end();
    }
  });
});
