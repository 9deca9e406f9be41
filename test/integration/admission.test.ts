import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { AdmissionServer } from '../../src/admission';
import { startWarden } from '../../src/main';
import { loadConfig } from '../../src/platform/config';
import { removeDataDir } from '../utils/data-dir';
import { TestCa } from '../utils/tls';
import { SHOP_POLICY } from '../fixtures/admission/shop-policy';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden, testWardenEnv } from '../utils/warden';

const FIXTURES = path.join(__dirname, '../fixtures/admission');

/** A committed AdmissionReview, changed for one test. */
function review(name: string, change?: (request: Record<string, any>) => void): Record<string, any> {
  const r = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.review.json`), 'utf8'));
  change?.(r.request);
  return r;
}

/**
 * Warden's admission webhooks over real TLS (issue 18): a client that trusts only the CA
 * bundle Warden generated, as the API server does with the webhook configuration's caBundle.
 */
describe('Kubernetes admission webhooks over HTTPS', () => {
  let w: TestWarden;
  let db: Client;
  let port: number;
  let ca: Buffer;

  function post(
    route: string,
    body: unknown,
    opts: { contentType?: string; method?: string; servername?: string; trust?: Buffer | null } = {},
  ): Promise<{ status: number; body: any }> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: route,
          method: opts.method ?? 'POST',
          servername: opts.servername ?? 'warden-admission.warden-system.svc',
          ca: opts.trust === null ? undefined : (opts.trust ?? ca),
          headers: { 'content-type': opts.contentType ?? 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString();
            resolve({ status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : undefined });
          });
        },
      );
      req.on('error', reject);
      req.end(opts.method === 'GET' ? undefined : text);
    });
  }
  const validate = async (name: string, change?: (r: Record<string, any>) => void) => {
    const r = await post('/validate', review(name, change));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    return r.body.response;
  };
  const launchRequests = async () =>
    Number(
      (await db.query(`SELECT count(*) AS n FROM launch_requests WHERE principal LIKE 'k8s-user:%'`)).rows[0]
        .n,
    );
  /**
   * The launch request rows of a review, read once its event is on the chain: they are
   * committed in the same transaction as the event (audit/admission-launches.ts), so they are
   * there from the moment the event is, and never without it.
   */
  const launchRowsOf = async (uid: string) => {
    const event = await eventually('the review on the chain', async () =>
      (await admissionEvents()).find((e: any) => e.payload.review === uid),
    );
    const ids = event.payload.containers.map((c: any) => c.launchRequestId).filter(Boolean);
    const { rows } = await db.query(
      `SELECT id::text, principal, principal_teams, request, spec, decision FROM launch_requests
        WHERE id = ANY($1::uuid[]) OR request->'admission'->>'review' = $2 ORDER BY id`,
      [ids, uid],
    );
    return { event, rows };
  };
  const admissionEvents = async () =>
    (await api(w, 'GET', '/audit/events?type=policy.decision&limit=1000')).body.events.filter(
      (e: any) => e.payload.action === 'admission',
    );

  /** The earlier reviews' events are written by the audit worker: wait until they all are. */
  async function settled(): Promise<number> {
    let last = -1;
    return eventually('the audit trail to settle', async () => {
      const n = (await admissionEvents()).length;
      if (n === last) return n || true;
      last = n;
      await new Promise((r) => setTimeout(r, 200));
      return false;
    }).then(() => last);
  }

  async function policy(
    doc: Record<string, unknown>,
    binding: { kind: string; value: string },
  ): Promise<string> {
    const made = await api(w, 'POST', '/policies', { body: doc });
    expect(made.status).toBe(201);
    expect(
      (await api(w, 'POST', `/policies/${doc.name}/activate`, { body: { versionId: made.body.id } })).status,
    ).toBe(200);
    const bound = await api(w, 'POST', `/policies/${doc.name}/bindings`, { body: binding });
    expect(bound.status).toBe(201);
    return made.body.id;
  }

  const SHOP = SHOP_POLICY;

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_ADMISSION_PORT: '0', WARDEN_ADMISSION_HOST: '127.0.0.1' });
    db = new Client({ connectionString: w.databaseUrl });
    await db.connect();
    port = w.app.get(AdmissionServer).port as number;
    ca = fs.readFileSync(path.join(w.dataDir, 'admission-tls', 'ca.pem'));
    await policy(SHOP, { kind: 'k8s-namespace', value: 'shop' });
    await policy(
      { ...SHOP, name: 'shop-audit', mode: 'audit' },
      { kind: 'k8s-user', value: 'carol@corp.io' },
    );
  });
  afterAll(async () => {
    await db?.end();
    await w?.close();
  });

  it('serves TLS with a certificate of its own CA, naming the webhook Service', async () => {
    expect((await post('/healthz', '', { method: 'GET' })).body).toEqual({ status: 'ok' });
    // A client that trusts only the system's CAs refuses it; a name not in the certificate too.
    await expect(post('/healthz', '', { method: 'GET', trust: null })).rejects.toThrow(
      /self[- ]signed|unable to verify|local issuer/i,
    );
    await expect(post('/healthz', '', { method: 'GET', servername: 'evil.example' })).rejects.toThrow(
      /altnames|does not match|Hostname\/IP/i,
    );
  });

  it('admits a pod its namespace policy allows, answering with the request uid', async () => {
    const res = await validate('pod');
    const uid = review('pod').request.uid;
    expect(res).toEqual({ uid, allowed: true });
    // Its launch request, for replay: the spec as asked (no defaults), the decision, the review.
    const { event, rows } = await launchRowsOf(uid);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: event.payload.containers[0].launchRequestId,
      principal: 'k8s-user:alice@corp.io',
      principal_teams: expect.arrayContaining(['k8s-namespace:shop']),
      request: { admission: { review: uid, webhook: 'validate', container: 'web', type: 'container' } },
      spec: { image: { registry: 'corp.io' } },
      decision: { allowed: true, policy: 'shop' },
    });
    expect(rows[0].spec.memoryBytes).toBeUndefined();
    expect(event.payload.containers[0].spec.memoryBytes).toBe(256 * 1024 ** 2);
  });

  it('denies with every failing rule in the status message (code 403)', async () => {
    const res = await validate('pod-privileged');
    expect(res.allowed).toBe(false);
    expect(res.uid).toBe(review('pod-privileged').request.uid);
    expect(res.status.code).toBe(403);
    expect(res.status.message).toMatch(/^Warden policy shop denies Pod shop\/web: /);
    for (const rule of ['privileged.allow', 'hostNamespaces.allow', 'capabilities.allowAdd'])
      expect(res.status.message).toContain(`rule ${rule})`);
    const hostPath = await validate('pod-hostpath');
    expect(hostPath.status.message).toMatch(
      /container "web": bind mount host path \/var\/run\/docker\.sock .*rule binds\.allowedHostPaths\)/,
    );
    // Each rule named once: the checks' messages already carry it.
    expect(hostPath.status.message.match(/rule binds\.allowedHostPaths/g)).toHaveLength(1);
  });

  it('judges the pod template of every workload kind, init and ephemeral containers included', async () => {
    for (const kind of ['deployment', 'statefulset', 'daemonset', 'replicaset', 'job', 'cronjob'])
      expect(await validate(kind)).toMatchObject({ allowed: true });
    const res = await validate('pod-init-ephemeral');
    // One launch request per container, recorded together with the review's event.
    const { rows } = await launchRowsOf(review('pod-init-ephemeral').request.uid);
    expect(rows.map((r: any) => r.request.admission.type).sort()).toEqual([
      'container',
      'ephemeralContainer',
      'initContainer',
    ]);
    expect(res.allowed).toBe(false);
    expect(res.status.message).toContain('initContainer "setup": ');
    expect(res.status.message).toContain('ephemeralContainer "debug": ');
    expect(res.status.message).not.toContain('container "web": ');
  });

  it('caps: a limit above the policy max is denied; what cannot be read is denied naming the field', async () => {
    expect((await validate('pod-big-memory')).status.message).toContain('rule resources.memory.max)');
    const bad = await validate('pod-bad-quantity');
    expect(bad.allowed).toBe(false);
    expect(bad.status.message).toContain('resources.limits.memory: "lots" is not a quantity');
  });

  it('audit mode admits and says what enforce would deny, as warnings', async () => {
    const res = await validate('pod-privileged', (r) => (r.userInfo.username = 'carol@corp.io'));
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Warden policy shop-audit \(audit mode\) would deny: .*privileged/),
      ]),
    );
  });

  it('fails closed where no policy is bound (baseline bound to everyone denies corp.io)', async () => {
    const res = await validate('pod', (r) => {
      r.namespace = 'other';
      r.object.metadata.namespace = 'other';
    });
    expect(res.allowed).toBe(false);
    expect(res.status.message).toMatch(
      /^Warden policy baseline denies Pod other\/web: .*images\.allowedRegistries/,
    );
  });

  it('the mutating webhook fills in the policy default caps as a JSONPatch', async () => {
    const r = await post('/mutate', review('deployment'));
    expect(r.status).toBe(200);
    const res = r.body.response;
    expect(res).toMatchObject({
      uid: review('deployment').request.uid,
      allowed: true,
      patchType: 'JSONPatch',
    });
    const patch = JSON.parse(Buffer.from(res.patch, 'base64').toString());
    expect(patch).toEqual([
      {
        op: 'add',
        path: '/spec/template/spec/containers/0/resources/limits',
        value: { memory: '256Mi', cpu: '500m' },
      },
      {
        op: 'add',
        path: '/spec/template/spec/containers/0/securityContext',
        value: { allowPrivilegeEscalation: false },
      },
      {
        op: 'add',
        path: '/spec/template/spec/securityContext',
        value: { seccompProfile: { type: 'RuntimeDefault' } },
      },
    ]);
    // A pod that names everything gets no patch.
    const full = await post('/mutate', review('pod-restricted'));
    expect(full.body.response).toEqual({ uid: review('pod-restricted').request.uid, allowed: true });
  });

  it('a dryRun review is judged and audited but not recorded as a launch', async () => {
    const uid = 'dry-run-0001';
    const res = await validate('pod-privileged', (r) => {
      r.dryRun = true;
      r.uid = uid;
    });
    expect(res).toMatchObject({ uid, allowed: false });
    const event = await eventually('the review audited', async () => {
      const e = (await admissionEvents()).find((x: any) => x.payload.review === uid);
      return e;
    });
    expect(event.payload).toMatchObject({ dryRun: true, webhook: 'validate' });
    expect(event.payload.containers[0].launchRequestId).toBeUndefined();
    expect((await launchRowsOf(uid)).rows).toEqual([]);
  });

  it('every review is a decision in the audit trail, with the Kubernetes user and object', async () => {
    const pod = review('pod-privileged');
    const event = await eventually('the review audited', async () => {
      const e = (await admissionEvents()).find((x: any) => x.payload.review === pod.request.uid);
      return e;
    });
    expect(event).toMatchObject({
      type: 'policy.decision',
      principal: 'k8s-user:alice@corp.io',
      source: { via: 'admission', requestId: pod.request.uid },
      decision: 'denied',
      subject: '7d0c8f5e-4b1a-4c2e-9a57-2f1e0b6c1d01',
    });
    expect(event.payload).toMatchObject({
      webhook: 'validate',
      operation: 'CREATE',
      dryRun: false,
      kubernetes: { user: 'alice@corp.io', uid: 'u-1001', groups: ['shop-devs', 'system:authenticated'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: 'shop',
        name: 'web',
        uid: '7d0c8f5e-4b1a-4c2e-9a57-2f1e0b6c1d01',
      },
      teams: expect.arrayContaining([
        'k8s-namespace:shop',
        'k8s-group:shop-devs',
        'k8s-serviceaccount:shop:default',
      ]),
      image: 'corp.io/shop/web:1.2',
    });
    expect(event.payload.containers[0].launchRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await api(w, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('exceptions scoped to a namespace waive a rule for its pods', async () => {
    const exc = await api(w, 'POST', '/exceptions', {
      body: {
        rule: 'privileged.allow',
        team: 'k8s-namespace:shop',
        image: { repository: 'corp.io/shop/web' },
        requester: 'alice@corp.io',
        ticket: 'CHG-18',
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      },
    });
    expect(exc.status).toBe(201);
    const res = await validate('pod-privileged');
    // privileged is waived; host PID and the added capability are still denied.
    expect(res.allowed).toBe(false);
    expect(res.status.message).not.toContain('rule privileged.allow)');
    expect(res.status.message).toContain('rule hostNamespaces.allow)');
  });

  it('replay covers the recorded Kubernetes launches', async () => {
    await settled();
    const r = await api(w, 'POST', '/policies/replay', {
      body: {
        candidate: {
          ...SHOP,
          name: 'shop',
          rules: { ...SHOP.rules, images: { allowedRegistries: ['other.io'] } },
        },
        from: new Date(Date.now() - 600_000).toISOString(),
        to: new Date(Date.now() + 1000).toISOString(),
      },
    });
    expect(r.status).toBe(200);
    const k8s = r.body.changes.filter((c: any) => c.principal.startsWith('k8s-user:'));
    expect(k8s.length).toBeGreaterThan(0);
    expect(k8s[0]).toMatchObject({ change: 'allowed-to-denied', image: 'corp.io/shop/web:1.2' });
  });

  it('compliance reports count the admitted reviews, by namespace as a team', async () => {
    const window = {
      from: new Date(Date.now() - 600_000).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
    };
    await settled();
    const made = await api(w, 'POST', '/reports', { body: { ...window, team: 'k8s-namespace:shop' } });
    expect(made.status).toBe(201);
    const done = await eventually(
      'the report',
      async () => {
        const r = await api(w, 'GET', `/reports/${made.body.id}`);
        if (r.body.status === 'failed') throw new Error(JSON.stringify(r.body));
        return r.body.status === 'done' && r.body;
      },
      60_000,
    );
    expect(done.status).toBe('done');
    const report = (await api(w, 'GET', `/reports/${made.body.id}/files/report.json`)).body;
    // The validating reviews recorded so far in namespace shop; mutating and dry-run ones are not launches.
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE type = 'policy.decision' AND payload->>'action' = 'admission'
         AND payload->>'webhook' = 'validate' AND NOT (payload->>'dryRun')::boolean AND payload->'teams' ? 'k8s-namespace:shop'`,
    );
    expect(rows[0].n).toBeGreaterThan(0);
    expect(report.population.launches).toBe(rows[0].n);
    expect(report.population.denied).toBeGreaterThan(0);
    expect(report.reasonsByRule.map((r: { rule: string }) => r.rule)).toContain('privileged.allow');
    expect(report.images.map((i: { image: string }) => i.image)).toContain('corp.io/shop/web:1.2');
  });

  it('binds by Kubernetes subject kinds, and refuses a malformed service account', async () => {
    const bad = await api(w, 'POST', '/policies/shop/bindings', {
      body: { kind: 'k8s-serviceaccount', value: 'nocolon' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.detail.problems).toEqual([expect.stringContaining('<namespace>:<name>')]);
    // The service account is more specific than the namespace: the audit policy wins there.
    expect(
      (
        await api(w, 'POST', '/policies/shop-audit/bindings', {
          body: { kind: 'k8s-serviceaccount', value: 'shop:ci' },
        })
      ).status,
    ).toBe(201);
    const res = await validate('pod-privileged', (r) => (r.object.spec.serviceAccountName = 'ci'));
    expect(res.allowed).toBe(true);
    expect(res.warnings.length).toBeGreaterThan(0);
  });

  it('the admission role serves the webhooks alone, on the same PostgreSQL and Redis', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-admission-'));
    const config = loadConfig({
      ...testWardenEnv(dir, w.databaseUrl, w.redisUrl),
      WARDEN_ADMISSION_PORT: '0',
      WARDEN_ADMISSION_HOST: '127.0.0.1',
    });
    const other = await startWarden('admission', config, pino({ level: 'error' }));
    try {
      expect(other.url).toBeUndefined(); // no REST port, no docker socket
      expect(fs.existsSync(config.dockerSocket)).toBe(false);
      const mine = { port, ca };
      port = other.app.get(AdmissionServer).port as number;
      ca = fs.readFileSync(path.join(dir, 'admission-tls', 'ca.pem'));
      try {
        // Its own CA; the same policies, bindings and trail.
        expect(await validate('pod')).toMatchObject({ allowed: true });
        expect((await validate('pod-privileged')).status.message).toMatch(/^Warden policy shop denies/);
      } finally {
        ({ port, ca } = mine);
      }
    } finally {
      await other.stop();
      removeDataDir(dir);
    }
  });

  it('with WARDEN_ADMISSION_CLIENT_CA, only clients with a certificate from that CA are reviewed', async () => {
    const clients = new TestCa('api-server-clients');
    const apiServer = clients.issue('apiserver', 'kube-apiserver');
    const stranger = new TestCa('someone-else').issue('stranger', 'kube-apiserver');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-admission-'));
    const config = loadConfig({
      ...testWardenEnv(dir, w.databaseUrl, w.redisUrl),
      WARDEN_ADMISSION_PORT: '0',
      WARDEN_ADMISSION_HOST: '127.0.0.1',
      WARDEN_ADMISSION_CLIENT_CA: clients.cert,
    });
    const other = await startWarden('admission', config, pino({ level: 'silent' }));
    const trust = fs.readFileSync(path.join(dir, 'admission-tls', 'ca.pem'));
    const call = (client?: { cert: string; key: string }) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: other.app.get(AdmissionServer).port,
            path: '/validate',
            method: 'POST',
            ca: trust,
            servername: 'localhost',
            headers: { 'content-type': 'application/json' },
            ...(client ? { cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) } : {}),
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(review('pod')));
      });
    try {
      expect(await call(apiServer)).toBe(200);
      await expect(call()).rejects.toThrow();
      await expect(call(stranger)).rejects.toThrow();
    } finally {
      await other.stop();
      removeDataDir(dir);
      clients.remove();
    }
  });

  it('what is not a review is a 4xx that records nothing', async () => {
    const before = await settled();
    const requests = await launchRequests();
    expect((await post('/validate', '{not json')).status).toBe(400);
    const wrong = await post('/validate', { ...review('pod'), apiVersion: 'admission.k8s.io/v1beta1' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toContain('body.apiVersion: must be admission.k8s.io/v1');
    const noUid = review('pod', (r) => delete r.uid);
    expect((await post('/validate', noUid)).body.message).toContain('body.request.uid: is required');
    expect((await post('/validate', review('pod'), { contentType: 'text/plain' })).status).toBe(415);
    expect((await post('/validate', '', { method: 'GET' })).status).toBe(405);
    expect((await post('/nope', review('pod'))).status).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    expect((await admissionEvents()).length).toBe(before);
    expect(await launchRequests()).toBe(requests);
  });
});
