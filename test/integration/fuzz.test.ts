import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { DockerApiServer } from '../../src/docker-api';
import { DOCKER_ROUTE_SCHEMAS } from '../../src/docker-api/docker-routes.schemas';
import { importBusybox } from '../utils/containers';
import { socketRequest } from '../utils/docker-cli';
import { FuzzRequest, generate } from '../utils/fuzz/generate';
import { dockerOperations, Operation, restOperations } from '../utils/fuzz/operations';
import { rawRequest, RawResponse, Target } from '../utils/fuzz/raw-http';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, socketAsAdmin, startTestWarden, TestWarden } from '../utils/warden';

/**
 * Issue 13, point 3: generated bad requests over every operation of the OpenAPI document and
 * every Docker route, each bad in exactly one place (a value its own schema refuses, a NUL
 * byte, broken JSON, no token). Every one must get a 4xx — never a 5xx, never a dropped or
 * unanswered connection, never a 2xx — and none may change anything: the database's tables
 * are fingerprinted before and after, and no audit event may appear but the marker written
 * at the end to prove the audit queue drained. Seeded: the same seed sends the same requests.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 13);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5200);
const CONCURRENCY = 12;
// A bound against hangs, not a speed target: 5,200 requests take 30-65 s alone on this
// 2-core machine shared with other suites, ~100 s inside the full suite under load 12.
const BUDGET_MS = 115_000;

// Every table but the append-only audit trail (checked by seq) and usage samples (the sampler
// writes them for the running fixture on its own clock).
const TABLES = [
  'principals',
  'api_tokens',
  'policies',
  'policy_versions',
  'policy_bindings',
  'policy_exceptions',
  'launch_requests',
  'images',
  'image_tags',
  'image_layers',
  'image_origins',
  'containers',
  'socket_principals',
  'reports',
  'report_files',
  'registry_upstreams',
];

const isRoot = process.getuid?.() === 0;
const suite = isRoot || process.env.CI ? describe : describe.skip;
if (!isRoot) console.warn('fuzz test skipped: the running fixture container needs root');

suite('fuzz: bad requests over every REST operation and Docker route', () => {
  let w: TestWarden;
  let db: Client;
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wfz-'));
  const socket = path.join(sockDir, 'docker.sock');
  const fx = { running: '', created: '', token: '', exec: '', policy: '' };

  beforeAll(async () => {
    w = await startTestWarden('up', {
      WARDEN_DOCKER_SOCKET: socket,
      WARDEN_CGROUP_PARENT: `warden-fuzz-${process.pid}`,
    });
    db = new Client({ connectionString: w.databaseUrl });
    await db.connect();
    await importBusybox(w);
    const run = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name: 'fz-run', cmd: ['sleep', '3600'] },
    });
    expect(run.status).toBe(201);
    fx.running = run.body.id;
    expect((await api(w, 'POST', '/containers/fz-run/start')).status).toBe(200);
    const created = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name: 'fz-new', cmd: ['true'] },
    });
    fx.created = created.body.id;
    expect((await api(w, 'POST', '/principals', { body: { id: 'fz-user', role: 'deployer' } })).status).toBe(
      201,
    );
    const token = await api(w, 'POST', '/tokens', { body: { principalId: 'fz-user', name: 'fz' } });
    fx.token = token.body.id;
    const up = await api(w, 'POST', '/registry/upstreams', {
      body: { alias: 'fzup', url: 'http://127.0.0.1:9', insecure: true },
    });
    expect(up.status).toBe(201);
    fx.policy = (await api(w, 'GET', '/policies')).body[0]?.name ?? 'baseline';
    // The fixtures are the REST admin's: the socket reaches them as an admin too.
    await socketAsAdmin(w);
    const exec = await socketRequest(socket, 'POST', '/containers/fz-run/exec', { Cmd: ['true'] });
    expect(exec.status).toBe(201);
    fx.exec = JSON.parse(exec.body).Id;
  });

  afterAll(async () => {
    await db?.end();
    await w?.close();
    fs.rmSync(sockDir, { recursive: true, force: true });
  });

  function fixture(op: Operation, param: string): string {
    if (param === 'uid') return '0';
    if (param === 'alias') return 'fzup';
    if (param === 'ref' || (op.surface === 'docker' && param === 'name')) return 'busybox:1.35';
    if (param === 'containerId') return fx.running;
    if (op.path.startsWith('/policies')) return fx.policy;
    if (op.path.startsWith('/tokens')) return fx.token;
    if (op.path.startsWith('/reports/{id}/files') && param === 'name') return 'report.json';
    if (op.path.startsWith('/reports')) return '00000000-0000-4000-8000-000000000013';
    if (op.path.startsWith('/exec')) return fx.exec;
    if (op.path.startsWith('/containers')) return op.path.endsWith('/start') ? fx.created : fx.running;
    return 'fz';
  }

  async function fingerprint(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const t of TABLES) {
      const r = await db.query(
        `SELECT count(*)::int AS n, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS h FROM ${t} x`,
      );
      out[t] = `${r.rows[0].n}:${r.rows[0].h}`;
    }
    return out;
  }

  const maxSeq = async () =>
    Number((await db.query('SELECT coalesce(max(seq), 0) AS s FROM audit_events')).rows[0].s);

  it(`sends ${REQUESTS} bad requests: all 4xx, none dropped, nothing changed`, async () => {
    const doc = (await api(w, 'GET', '/docs/openapi.json', { token: null })).body;
    const rest = restOperations(doc);
    const routes = w.app.get(DockerApiServer).routes();
    const docker = dockerOperations(routes, DOCKER_ROUTE_SCHEMAS);
    // Every route has its schema (the server refuses to start otherwise) and is fuzzed.
    expect(routes.filter((r) => !DOCKER_ROUTE_SCHEMAS[r])).toEqual([]);
    expect(rest.length).toBeGreaterThanOrEqual(50);
    // Every REST path parameter is documented with what it admits (a pattern, a format or an
    // enum), the same schema its pipe checks: a bare string would admit anything.
    const constrained = (s: { pattern?: string; format?: string; enum?: unknown[] }) =>
      !!(s.pattern || s.format || s.enum);
    expect(
      rest.flatMap((op) =>
        op.params.filter((p) => !constrained(p.schema)).map((p) => `${op.method} ${op.path} {${p.name}}`),
      ),
    ).toEqual([]);
    const ops = [...rest, ...docker];
    const requests = generate(ops, REQUESTS, SEED, { fixture, token: ADMIN_TOKEN });

    // The audit queue settles (fixtures' events) before the baseline is taken.
    await new Promise((r) => setTimeout(r, 1000));
    const tablesBefore = await fingerprint();
    const seqBefore = await maxSeq();

    const http: Target = { host: new URL(w.url).hostname, port: Number(new URL(w.url).port) };
    const results: Array<{ req: FuzzRequest; res: RawResponse }> = [];
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const req = requests[next++];
          const to = req.op.surface === 'rest' ? http : { socketPath: socket };
          results.push({ req, res: await rawRequest(to, req.raw) });
        }
      }),
    );
    const elapsed = Date.now() - t0;
    const tablesAfter = await fingerprint();

    // Drain: a marker action after the fuzz; once its event is in the table, every event a
    // fuzz request could have enqueued before it has had its chance to land too.
    const marker = await api(w, 'POST', '/principals', { body: { id: 'fz-marker', role: 'auditor' } });
    expect(marker.status).toBe(201);
    await eventually(
      'the marker event',
      async () =>
        (
          await db.query(
            `SELECT 1 FROM audit_events WHERE type = 'principal.created' AND subject = 'fz-marker'`,
          )
        ).rowCount,
    );
    await new Promise((r) => setTimeout(r, 500));
    const newEvents = (
      await db.query(
        `SELECT seq, type, subject, source->>'requestId' AS request FROM audit_events WHERE seq > $1 AND subject IS DISTINCT FROM 'fz-marker' ORDER BY seq`,
        [seqBefore],
      )
    ).rows;

    // The summary: requests by surface and status class, the worst offenders named.
    const byClass: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    for (const { req, res } of results) {
      const cls = res.status ? `${Math.floor(res.status / 100)}xx` : res.hung ? 'no answer' : 'dropped';
      byClass[`${req.op.surface} ${cls}`] = (byClass[`${req.op.surface} ${cls}`] ?? 0) + 1;
      byStatus[String(res.status ?? cls)] = (byStatus[String(res.status ?? cls)] ?? 0) + 1;
    }
    const line = (r: { req: FuzzRequest; res: RawResponse }) =>
      `${r.res.status ?? (r.res.hung ? 'no answer' : 'dropped')} ${r.req.op.method} ${r.req.op.path} [${r.req.mutation}] ${r.res.text.split('\r\n\r\n')[1]?.slice(0, 200) ?? ''}`;
    const bad = results.filter((r) => !r.res.status || r.res.status >= 500 || r.res.status < 400);
    console.log(
      [
        `fuzz: ${results.length} requests over ${rest.length} REST operations and ${docker.length} Docker routes, seed ${SEED}, ${elapsed} ms (${Math.round((results.length / elapsed) * 1000)}/s, ${CONCURRENCY} at a time, ${os.loadavg()[0].toFixed(1)} load)`,
        ...Object.entries(byClass)
          .sort()
          .map(([k, n]) => `  ${k.padEnd(16)} ${n}`),
        `  statuses: ${Object.entries(byStatus)
          .sort()
          .map(([k, n]) => `${k}×${n}`)
          .join(' ')}`,
        ...bad.slice(0, 60).map((r) => `  ! ${line(r)}`),
      ].join('\n'),
    );

    expect(results.length).toBe(REQUESTS);
    expect(elapsed).toBeLessThan(BUDGET_MS);
    expect(bad.map(line)).toEqual([]);
    // Nothing a 4xx answered may have changed the database or the audit trail.
    expect(tablesAfter).toEqual(tablesBefore);
    expect(newEvents).toEqual([]);
    // The fixtures are as they were: the running one runs, the created one waits.
    const running = await api(w, 'GET', `/containers/${fx.running}`);
    expect(running.body.state).toBe('running');
    expect((await api(w, 'GET', `/containers/${fx.created}`)).body.state).toBe('created');
  }, 180_000);
});
