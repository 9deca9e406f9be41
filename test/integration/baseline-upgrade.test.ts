import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { canonicalJson, sha256Hex } from '../../src/platform/canonical';
import { PolicyService } from '../../src/policy';
import { BaselineBootstrap } from '../../src/policy/baseline.bootstrap';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * Issue 14, point 8: `baseline` is written on first boot only, so a release's new defaults
 * must reach existing installs at boot: an unmodified earlier built-in baseline is upgraded
 * (a new version, activated, audited); a baseline an admin changed is left alone. Real
 * PostgreSQL; the boot step is run again on the same database, as a restart runs it.
 */
describe('baseline upgrade at boot', () => {
  let w: TestWarden;
  let db: Client;
  let current: string;

  const active = async () => (await api(w, 'GET', '/policies/baseline')).body.activeVersion as string;
  const events = async (type: string) =>
    (await api(w, 'GET', `/audit/events?type=${type}&subject=baseline`)).body.events as Array<{
      principal: string;
      payload: Record<string, unknown>;
    }>;
  const boot = () => w.app.get(BaselineBootstrap).onApplicationBootstrap();

  /** An earlier release's baseline, as that release's first boot wrote it (author `system`). */
  async function installEarlierBuiltIn(): Promise<string> {
    const doc = (await db.query(`SELECT document FROM policy_versions WHERE id = $1`, [current])).rows[0]
      .document;
    // An earlier release, installed when another upstream was configured.
    const earlier = {
      ...doc,
      rules: { ...doc.rules, images: { allowedRegistries: ['', 'old.example:5000'] } },
    };
    delete earlier.rules.sysctls;
    delete earlier.rules.exec;
    const id = sha256Hex(canonicalJson(earlier));
    await db.query(
      `INSERT INTO policy_versions (id, policy_name, document, created_by) VALUES ($1, 'baseline', $2, 'system')`,
      [id, JSON.stringify(earlier)],
    );
    await db.query(`UPDATE policies SET active_version = $1 WHERE name = 'baseline'`, [id]);
    return id;
  }

  beforeAll(async () => {
    w = await startTestWarden('up');
    db = new Client({ connectionString: w.databaseUrl });
    await db.connect();
    current = await active();
  });
  afterAll(async () => {
    await db?.end();
    await w?.close();
  });

  it('an unmodified earlier built-in becomes this release’s as a new version, audited; once', async () => {
    const earlier = await installEarlierBuiltIn();
    expect(await active()).toBe(earlier);
    await boot();
    const upgraded = await active();
    expect(upgraded).not.toBe(earlier);
    const now = (await api(w, 'GET', '/policies/baseline')).body.document;
    // This release's rules; the registries the install admitted, not today's configuration.
    expect(now.rules.sysctls.allowed).toContain('net.*');
    expect(now.rules.exec).toEqual({ allowPrivileged: false });
    expect(now.rules.images.allowedRegistries).toEqual(['', 'old.example:5000']);
    const versions = (await api(w, 'GET', '/policies/baseline/versions')).body;
    expect(versions.map((v: { id: string }) => v.id)).toEqual(expect.arrayContaining([earlier, upgraded]));
    await eventually('the upgrade in the trail', async () => {
      const created = (await events('policy.version.created')).filter(
        (e) => e.payload.upgradedFrom === earlier,
      );
      const activated = (await events('policy.activated')).filter((e) => e.payload.previous === earlier);
      return created.length === 1 && activated.length === 1 ? true : undefined;
    });
    const [created] = (await events('policy.version.created')).filter(
      (e) => e.payload.upgradedFrom === earlier,
    );
    expect(created).toMatchObject({ principal: 'system', payload: { versionId: upgraded } });
    expect(String(created.payload.reason)).toMatch(/unmodified earlier built-in/);
    // The decisions use it at once: a deployer's evaluation names the new version.
    const decision = await w.app
      .get(PolicyService)
      .decidePull(
        { principal: { id: 'dave', role: 'deployer', teams: [] }, source: { via: 'cli' } },
        'app:1',
      );
    expect(decision).toMatchObject({ policy: 'baseline', policyVersion: upgraded });

    // Booting again changes nothing: the active version is this release's.
    const count = (await db.query(`SELECT count(*)::int AS n FROM policy_versions`)).rows[0].n;
    await boot();
    expect((await db.query(`SELECT count(*)::int AS n FROM policy_versions`)).rows[0].n).toBe(count);
  });

  it("a baseline an admin changed is left alone, and the boot's log says so", async () => {
    const doc = (await api(w, 'GET', '/policies/baseline')).body.document;
    const mine = await api(w, 'POST', '/policies', {
      body: {
        ...doc,
        description: 'ours: baseline with a tighter pids default',
        rules: { ...doc.rules, resources: { ...doc.rules.resources, pids: { default: 256 } } },
      },
    });
    expect(mine.status).toBe(201);
    expect(
      (await api(w, 'POST', '/policies/baseline/activate', { body: { versionId: mine.body.id } })).status,
    ).toBe(200);
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const before = (await db.query(`SELECT count(*)::int AS n FROM policy_versions`)).rows[0].n;
    await boot();
    expect(await active()).toBe(mine.body.id);
    expect((await db.query(`SELECT count(*)::int AS n FROM policy_versions`)).rows[0].n).toBe(before);
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
      new RegExp(`baseline was changed by admin \\(active ${mine.body.id}\\): left alone`),
    );
    warn.mockRestore();
  });
});
