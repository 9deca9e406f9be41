import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { settleNodeName } from '../../src/fleet';
import { defaultNodeName, loadConfig } from '../../src/platform/config';
import { freshDatabase, sql } from '../utils/services';

/**
 * A node's name is fixed in its data dir at the first start (docs/fleet.md): an install that
 * ran before named nodes keeps the plain host name its containers are recorded under, so an
 * upgrade still adopts them; a new one gets the host name plus a data-dir hash.
 */
describe('node name settled at the first start', () => {
  let db: { url: string; drop(): Promise<void> };
  const dirs: string[] = [];
  const log = pino({ level: 'silent' });
  const dataDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-node-name-'));
    dirs.push(d);
    return d;
  };
  const config = (dir: string, env: Record<string, string> = {}) =>
    loadConfig({ WARDEN_DATA_DIR: dir, DATABASE_URL: db.url, ...env });
  const containerOn = (node: string, id: string) =>
    sql(
      db.url,
      `INSERT INTO containers (id, name, image, spec, state, node, created_by)
       VALUES ($1, $2, 'busybox', '{}', 'running', $3, 'admin')`,
      [id.repeat(64).slice(0, 64), `c-${id}`, node],
    );
  const kept = (dir: string) => fs.readFileSync(path.join(dir, 'node-name'), 'utf8').trim();

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a new data dir: host name and data-dir hash, kept, and the default from then on', async () => {
    const dir = dataDir();
    const c = config(dir);
    expect(c.runtime.node).toMatch(new RegExp(`-[0-9a-f]{8}$`));
    await settleNodeName(c, db.url, log);
    expect(kept(dir)).toBe(c.runtime.node);
    expect(defaultNodeName(dir)).toBe(c.runtime.node);
  });

  it('an upgraded install whose containers are recorded under the plain host name keeps that name', async () => {
    await containerOn(os.hostname(), 'a');
    const dir = dataDir();
    const c = config(dir);
    expect(c.runtime.node).not.toBe(os.hostname());
    await settleNodeName(c, db.url, log);
    expect(c.runtime.node).toBe(os.hostname());
    expect(kept(dir)).toBe(os.hostname());
    // Its next start reads the kept name: no query decides it again.
    expect(config(dir).runtime.node).toBe(os.hostname());
  });

  it('a data dir already running under its hashed name stays on it, plain-named rows or not', async () => {
    const dir = dataDir();
    const hashed = config(dir).runtime.node;
    await containerOn(hashed, 'b');
    const c = config(dir);
    await settleNodeName(c, db.url, log);
    expect(c.runtime.node).toBe(hashed);
  });

  it('a name from the environment wins and is kept as the default', async () => {
    const dir = dataDir();
    const c = config(dir, { WARDEN_NODE_NAME: 'rack-7' });
    await settleNodeName(c, db.url, log);
    expect([c.runtime.node, kept(dir)]).toEqual(['rack-7', 'rack-7']);
    expect(config(dir).runtime.node).toBe('rack-7');
    expect(config(dir, { WARDEN_NODE_NAME: 'rack-8' }).runtime.node).toBe('rack-8');
  });
});
