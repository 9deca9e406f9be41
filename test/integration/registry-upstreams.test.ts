import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Client } from 'pg';
import { startWarden, RunningWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { buildImage, BuiltImage } from '../fixtures/images/oci-image';
import {
  DockerRegistry,
  Front,
  describeWithRegistry,
  pushImage,
  startDockerRegistry,
  startFront,
} from '../utils/registry';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

const suite = describeWithRegistry('registry upstream API tests');

const basic = (token: string) => `Basic ${Buffer.from(`x:${token}`).toString('base64')}`;
const ACCEPT =
  'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** GET /v2/<name>/manifests/<ref> on a Warden, as a registry client. */
async function pull(w: { url: string }, name: string, ref: string, token = ADMIN_TOKEN) {
  const res = await fetch(`${w.url}/v2/${name}/manifests/${ref}`, {
    headers: { authorization: basic(token), accept: ACCEPT },
  });
  const body = await res.text();
  return { status: res.status, digest: res.headers.get('docker-content-digest'), body };
}

async function query(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

suite('registry upstreams through the admin API', () => {
  let upstream: DockerRegistry;
  let envFront: Front;
  let apiFront: Front;
  let tokenFront: Front;
  let w: TestWarden;
  let second: RunningWarden | undefined;
  let image: BuiltImage;
  const tokens: Record<string, string> = {};
  const secrets = ['envpass-xyz', 's3cret-pw', 'puller-user'];

  beforeAll(async () => {
    upstream = await startDockerRegistry();
    image = buildImage({ layers: [Buffer.from('upstreams via the API')] });
    await pushImage(upstream.url, 'app/one', '1', image);
    envFront = await startFront(upstream.url);
    apiFront = await startFront(upstream.url);
    tokenFront = await startFront(upstream.url, {
      token: { username: 'puller-user', password: 's3cret-pw' },
    });
    w = await startTestWarden('up', {
      WARDEN_REGISTRY_UPSTREAMS: `fromenv=http+insecure://u:envpass-xyz@${envFront.host}`,
      WARDEN_REGISTRY_TAG_TTL: '0',
    });
    for (const [id, role] of [
      ['deployer1', 'deployer'],
      ['auditor1', 'auditor'],
    ]) {
      await api(w, 'POST', '/principals', { body: { id, role } });
      tokens[id] = (await api(w, 'POST', '/tokens', { body: { principalId: id, name: 't' } })).body.token;
    }
  });
  afterAll(async () => {
    await second?.stop();
    await w?.close();
    for (const f of [envFront, apiFront, tokenFront]) await f?.close();
    await upstream?.stop();
  });

  const rowCount = async () =>
    Number((await query(w.databaseUrl, 'SELECT count(*) AS n FROM registry_upstreams'))[0].n);

  it('are described in the OpenAPI document', async () => {
    const spec = await api(w, 'GET', '/docs/openapi.json', { token: null });
    expect(spec.body.paths['/registry/upstreams']).toMatchObject({ get: {}, post: {} });
    expect(spec.body.paths['/registry/upstreams/{alias}']).toMatchObject({ get: {}, put: {}, delete: {} });
    const body = spec.body.paths['/registry/upstreams'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(['alias', 'url', 'insecure', 'credentials']);
  });

  it('deployers and auditors are refused every route with 403', async () => {
    for (const who of ['deployer1', 'auditor1'])
      for (const [method, p, body] of [
        ['GET', '/registry/upstreams'],
        ['POST', '/registry/upstreams', { alias: 'x', url: 'https://example.com' }],
        ['GET', '/registry/upstreams/fromenv'],
        ['PUT', '/registry/upstreams/x', { url: 'https://example.com' }],
        ['DELETE', '/registry/upstreams/x'],
      ] as Array<[string, string, unknown?]>) {
        const r = await api(w, method, p, { token: tokens[who], body });
        expect([who, method, p, r.status]).toEqual([who, method, p, 403]);
      }
    expect(await rowCount()).toBe(0);
  });

  it('bad input answers 400/409 naming the problem, and stores nothing', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ alias: 'x', url: 'not a url' }, 400, /body\.url: 'x' is not a URL/],
      [
        { alias: 'x', url: `http://${apiFront.host}` },
        400,
        /plain http is refused unless marked.*"insecure": true/,
      ],
      [{ alias: 'x', url: 'https://example.com', insecure: true }, 400, /applies only to plain-http/],
      [{ alias: 'x', url: 'ftp://example.com' }, 400, /must use https:\/\//],
      [{ alias: 'x', url: 'https://example.com/v2/' }, 400, /no path/],
      [{ alias: 'Bad!', url: 'https://example.com' }, 400, /body\.alias: lowercase letters/],
      [
        { alias: 'x', url: 'https://example.com', credentials: { username: 'u' } },
        400,
        /username and password/,
      ],
      [
        { alias: 'x', url: 'https://example.com', credentials: { username: 'u', password: 'p', token: 't' } },
        400,
        /or token alone/,
      ],
      [
        { alias: 'x', url: 'https://a:b@example.com', credentials: { token: 't' } },
        400,
        /both in the URL and in "credentials"/,
      ],
      [{ alias: 'x', url: 'https://example.com', extra: 1 }, 400, /body: Unrecognized key/],
      [{ alias: 'fromenv', url: 'https://example.com' }, 409, /comes from WARDEN_REGISTRY_UPSTREAMS/],
    ];
    for (const [body, status, message] of cases) {
      const r = await api(w, 'POST', '/registry/upstreams', { body });
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), status]);
      expect(r.body.message).toMatch(message);
    }
    expect(await rowCount()).toBe(0);
    expect((await api(w, 'GET', '/registry/upstreams')).body.map((u: { alias: string }) => u.alias)).toEqual([
      'fromenv',
    ]);
  });

  it('environment upstreams are listed as such, without secrets, and are read-only', async () => {
    const list = await api(w, 'GET', '/registry/upstreams');
    expect(list.body).toEqual([
      {
        alias: 'fromenv',
        url: `http://${envFront.host}`,
        insecure: true,
        registry: envFront.host,
        dockerHub: false,
        source: 'environment',
        hasCredentials: true,
        credentialKind: 'basic',
      },
    ]);
    for (const [method, body] of [
      ['PUT', { url: 'https://example.com' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await api(w, method, '/registry/upstreams/fromenv', { body });
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('REGISTRY_UPSTREAM_READ_ONLY');
      expect(r.body.message).toMatch(/comes from WARDEN_REGISTRY_UPSTREAMS.*edit the variable and restart/);
    }
    expect((await api(w, 'GET', '/registry/upstreams/nope')).status).toBe(404);
  });

  it('an added upstream serves pulls at once; policy decides as for any registry', async () => {
    const added = await api(w, 'POST', '/registry/upstreams', {
      body: { alias: 'added', url: `http://${apiFront.host}`, insecure: true },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      alias: 'added',
      url: `http://${apiFront.host}`,
      insecure: true,
      registry: apiFront.host,
      source: 'api',
      hasCredentials: false,
      createdBy: 'admin',
    });
    const dup = await api(w, 'POST', '/registry/upstreams', {
      body: { alias: 'added', url: 'https://example.com' },
    });
    expect([dup.status, dup.body.code]).toEqual([409, 'REGISTRY_UPSTREAM_EXISTS']);

    // The baseline policy (first boot) names the registries configured then; a new one is
    // denied until a policy admits it (docs/registry-proxy.md).
    const denied = await pull(w, 'added/app/one', '1');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatch(/not from an allowed registry/);
    const baseline = (await api(w, 'GET', '/policies/baseline')).body.document;
    baseline.rules.images.allowedRegistries.push(apiFront.host, tokenFront.host);
    const version = await api(w, 'POST', '/policies', { body: baseline });
    expect(version.status).toBe(201);
    await api(w, 'POST', '/policies/baseline/activate', { body: { versionId: version.body.id } });

    const ok = await pull(w, 'added/app/one', '1');
    expect([ok.status, ok.digest]).toEqual([200, image.manifest.digest]);
    expect(apiFront.count('GET', '/v2/app/one/manifests/')).toBe(1);
  });

  it('credentials are sealed in the database and never answered or audited', async () => {
    const r = await api(w, 'POST', '/registry/upstreams', {
      body: {
        alias: 'tok',
        url: `http+insecure://${tokenFront.host}`,
        credentials: { username: 'puller-user', password: 's3cret-pw' },
      },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ hasCredentials: true, credentialKind: 'basic' });
    const ok = await pull(w, 'tok/app/one', '1');
    expect([ok.status, ok.digest]).toEqual([200, image.manifest.digest]);
    expect(tokenFront.tokenRequests).toBe(1);

    const [row] = await query(w.databaseUrl, `SELECT * FROM registry_upstreams WHERE alias = 'tok'`);
    expect(row.credential_kind).toBe('basic');
    expect(String(row.credentials)).toMatch(/^v1\./);
    const keyFile = path.join(w.dataDir, 'secrets', 'registry-upstreams.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);

    // Keep the credentials (omitted), then drop them (null): pulls follow at once.
    const kept = await api(w, 'PUT', '/registry/upstreams/tok', {
      body: { url: `http://${tokenFront.host}`, insecure: true },
    });
    expect(kept.body).toMatchObject({ hasCredentials: true, updatedBy: 'admin' });
    expect((await pull(w, 'tok/app/one', '1')).status).toBe(200);
    const dropped = await api(w, 'PUT', '/registry/upstreams/tok', {
      body: { url: `http://${tokenFront.host}`, insecure: true, credentials: null },
    });
    expect(dropped.body.hasCredentials).toBe(false);
    expect((await pull(w, 'tok/app/one', '1')).status).toBe(404);

    // A token is the upstream's own bearer token, sent as it is.
    const issued = await fetch(`${tokenFront.url}/token?service=front&scope=repository:app/one:pull`, {
      headers: { authorization: `Basic ${Buffer.from('puller-user:s3cret-pw').toString('base64')}` },
    });
    const { token } = (await issued.json()) as { token: string };
    secrets.push(token);
    const withToken = await api(w, 'PUT', '/registry/upstreams/tok', {
      body: { url: `http+insecure://${tokenFront.host}`, credentials: { token } },
    });
    expect(withToken.body).toMatchObject({ hasCredentials: true, credentialKind: 'token' });
    expect((await pull(w, 'tok/app/one', '1')).status).toBe(200);

    const rows = JSON.stringify(await query(w.databaseUrl, 'SELECT * FROM registry_upstreams'));
    const answers = JSON.stringify([
      (await api(w, 'GET', '/registry/upstreams')).body,
      (await api(w, 'GET', '/registry/upstreams/tok')).body,
      r.body,
      kept.body,
      withToken.body,
    ]);
    const events = await eventually('upstream events', async () => {
      const e = (await api(w, 'GET', '/audit/events?limit=500')).body.events as Array<{ type: string }>;
      const mine = e.filter((x) => x.type.startsWith('registry.upstream.'));
      return mine.length >= 5 ? mine : undefined;
    });
    expect(events.map((e) => e.type).sort()).toEqual([
      'registry.upstream.created',
      'registry.upstream.created',
      'registry.upstream.updated',
      'registry.upstream.updated',
      'registry.upstream.updated',
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'registry.upstream.updated',
        principal: 'admin',
        subject: 'tok',
        payload: expect.objectContaining({
          credentialKind: 'token',
          previous: expect.objectContaining({ hasCredentials: false }),
        }),
      }),
    );
    for (const s of secrets) {
      expect(rows).not.toContain(s);
      expect(answers).not.toContain(s);
      expect(JSON.stringify(events)).not.toContain(s);
    }
  });

  it('another API process on the same database follows changes without a restart', async () => {
    // Its own data dir and cgroup parent: one Warden per runtime scope (docs/operations.md);
    // the node's key for sealed credentials is copied, as onto another node of the same database.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-second-'));
    fs.cpSync(path.join(w.dataDir, 'secrets'), path.join(dataDir, 'secrets'), { recursive: true });
    const config = loadConfig({
      WARDEN_DATA_DIR: dataDir,
      WARDEN_CGROUP_PARENT: `warden-second-${process.pid}`,
      WARDEN_PORT: '0',
      WARDEN_ADMIN_TOKEN: ADMIN_TOKEN,
      DATABASE_URL: w.databaseUrl,
      REDIS_URL: w.redisUrl,
      WARDEN_LOG_LEVEL: 'error',
      WARDEN_DOCKER_SOCKET: path.join(w.dataDir, 'second.sock'),
    });
    second = await startWarden('serve', config, pino({ level: 'error' }));
    const other = { url: second.url as string };
    expect((await pull(other, 'added/app/one', '1')).status).toBe(200);
    await api(w, 'POST', '/registry/upstreams', {
      body: { alias: 'late', url: `http+insecure://${apiFront.host}` },
    });
    await eventually(
      'the other process to serve the new alias',
      async () => (await pull(other, 'late/app/one', '1')).status === 200,
      15000,
    );
    await api(w, 'DELETE', '/registry/upstreams/late');
    await eventually(
      'the other process to forget it',
      async () => (await pull(other, 'late/app/one', '1')).status === 404,
      15000,
    );
  });

  it('delete makes the alias unknown at once (NAME_UNKNOWN), audited', async () => {
    const del = await api(w, 'DELETE', '/registry/upstreams/added');
    expect(del.status).toBe(200);
    expect(del.body.alias).toBe('added');
    const gone = await pull(w, 'added/app/one', '1');
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body).errors[0]).toMatchObject({ code: 'NAME_UNKNOWN' });
    expect(JSON.parse(gone.body).errors[0].message).toMatch(/no upstream 'added'/);
    expect((await api(w, 'GET', '/registry/upstreams/added')).status).toBe(404);
    expect((await api(w, 'DELETE', '/registry/upstreams/added')).status).toBe(404);
    await eventually('removal audited', async () => {
      const e = (await api(w, 'GET', '/audit/events?type=registry.upstream.removed')).body.events;
      return e.find((x: { subject: string }) => x.subject === 'added');
    });
  });
});
