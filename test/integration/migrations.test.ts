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
  beforeAll(async () => (db = await freshDatabase()));
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
      AddRestartAndHealth1796282813460: [],
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
