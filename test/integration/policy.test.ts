import { Client } from 'pg';
import type { Caller, Role } from '../../src/platform/http';
import { PolicyService } from '../../src/policy';
import { BaselineBootstrap } from '../../src/policy/baseline.bootstrap';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

const MiB = 1024 ** 2;

describe('policy: baseline, versions, bindings, decisions, exceptions, replay', () => {
  let w: TestWarden;
  let db: Client;
  let policies: PolicyService;
  const tokens: Record<string, string> = {};
  const started = new Date(Date.now() - 1000);

  const caller = (id: string, role: Role = 'deployer', teams: string[] = []): Caller => ({
    principal: { id, role, teams },
    source: { via: 'cli' },
  });
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.query(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0].n);
  const auditEvents = async (query: string) => (await api(w, 'GET', `/audit/events?${query}`)).body.events;

  async function principalWithToken(id: string, role: Role, teams: string[] = []): Promise<string> {
    expect((await api(w, 'POST', '/principals', { body: { id, role, teams } })).status).toBe(201);
    const r = await api(w, 'POST', '/tokens', { body: { principalId: id, name: 'test' } });
    expect(r.status).toBe(201);
    return r.body.token as string;
  }

  beforeAll(async () => {
    w = await startTestWarden('up');
    db = new Client({ connectionString: w.databaseUrl });
    await db.connect();
    policies = w.app.get(PolicyService);
    tokens.deployer = await principalWithToken('dave', 'deployer');
    tokens.auditor = await principalWithToken('audrey', 'auditor');
  });
  afterAll(async () => {
    await db.end();
    await w.close();
  });

  it('a fresh install has baseline as its first policy, active and bound to everyone, audited as system', async () => {
    const list = await api(w, 'GET', '/policies');
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    const baseline = list.body[0];
    expect(baseline).toMatchObject({
      name: 'baseline',
      mode: 'enforce',
      activeVersion: expect.stringMatching(/^[a-f0-9]{64}$/),
      bindings: [{ kind: 'everyone', value: '*', createdBy: 'system' }],
    });
    const versions = await api(w, 'GET', '/policies/baseline/versions');
    expect(versions.body).toEqual([expect.objectContaining({ id: baseline.activeVersion, active: true })]);

    const events = await eventually('baseline audit events', async () => {
      const e = await auditEvents('subject=baseline');
      return e.length >= 3 ? e : undefined;
    });
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      'policy.version.created',
      'policy.activated',
      'policy.bound',
    ]);
    expect(events.every((e: { principal: string }) => e.principal === 'system')).toBe(true);
  });

  it('evaluate is a dry run: a deployer gets the baseline decision with defaults filled, and nothing is recorded', async () => {
    const r = await api(w, 'POST', '/policies/baseline/evaluate', {
      token: tokens.deployer,
      body: { image: 'tools/app:1.0', cmd: ['true'] },
    });
    expect(r.status).toBe(200);
    expect(r.body.decision).toMatchObject({
      allowed: true,
      mode: 'enforce',
      policy: 'baseline',
      reasons: [],
    });
    expect(r.body.effectiveSpec).toMatchObject({ memoryBytes: 512 * MiB, nanoCpus: 1e9, pidsLimit: 1024 });
    expect(r.body.decision.defaultsApplied).toEqual([
      { field: 'memoryBytes', value: 512 * MiB },
      { field: 'nanoCpus', value: 1e9 },
      { field: 'pidsLimit', value: 1024 },
      { field: 'storageBytes', value: 10 * 1024 * MiB },
    ]);

    const denied = await api(w, 'POST', '/policies/baseline/evaluate', {
      token: tokens.deployer,
      body: { image: 'tools/app:1.0', privileged: true, capAdd: ['NET_ADMIN'] },
    });
    expect(denied.body.decision.allowed).toBe(false);
    expect(denied.body.decision.reasons.map((x: { rule: string }) => x.rule)).toEqual([
      'privileged.allow',
      'capabilities.allowAdd',
    ]);

    const bad = await api(w, 'POST', '/policies/baseline/evaluate', {
      token: tokens.deployer,
      body: { image: 'tools/app:1.0', memory: 'lots' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.detail.problems).toEqual([expect.stringMatching(/^body\.memory:/)]);

    // A later audited action is the marker: once it is stored, any decision event would be too.
    await api(w, 'POST', '/principals', { body: { id: 'marker-1', role: 'deployer' } });
    await eventually('marker event', async () => (await auditEvents('subject=marker-1')).length === 1);
    expect(await auditEvents('type=policy.decision')).toEqual([]);
    expect(await count('launch_requests')).toBe(0);
  });

  it('roles: a deployer cannot change policy, an auditor cannot evaluate but reads audit and replays', async () => {
    const doc = { name: 'nope', mode: 'enforce', rules: {} };
    expect((await api(w, 'POST', '/policies', { token: tokens.deployer, body: doc })).status).toBe(403);
    const activate = await api(w, 'POST', '/policies/baseline/activate', {
      token: tokens.deployer,
      body: { versionId: 'a'.repeat(64) },
    });
    expect(activate.status).toBe(403);
    const evaluate = await api(w, 'POST', '/policies/baseline/evaluate', {
      token: tokens.auditor,
      body: { image: 'app:1' },
    });
    expect(evaluate.status).toBe(403);
    expect(evaluate.body.message).toMatch(/needs role admin or deployer/);
    expect((await api(w, 'GET', '/audit/events', { token: tokens.auditor })).status).toBe(200);
    expect((await api(w, 'GET', '/exceptions', { token: tokens.auditor })).status).toBe(200);
    expect((await api(w, 'GET', '/policies/nope')).status).toBe(404);
    // an auditor reads but never launches: refused before any decision is made or recorded
    const decisionsBefore = (await api(w, 'GET', '/audit/events?type=policy.decision&limit=1000')).body.events
      .length;
    const launch = await api(w, 'POST', '/containers', { token: tokens.auditor, body: { image: 'app:1' } });
    expect(launch.status).toBe(403);
    expect(launch.body.message).toMatch(/needs role admin or deployer; principal 'audrey' has role auditor/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(w, 'GET', '/audit/events?type=policy.decision&limit=1000')).body.events.length).toBe(
      decisionsBefore,
    );
  });

  it('a policy version is identified by its content: the same document twice is one version', async () => {
    const doc = {
      name: 'strict',
      mode: 'enforce',
      rules: { labels: { required: ['owner', 'cost-centre'] } },
    };
    const first = await api(w, 'POST', '/policies', { body: doc });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      policy: 'strict',
      created: true,
      id: expect.stringMatching(/^[a-f0-9]{64}$/),
    });
    // Another order of the same list normalizes to the same document.
    const again = await api(w, 'POST', '/policies', {
      body: { ...doc, rules: { labels: { required: ['cost-centre', 'owner'] } } },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, created: false });
    expect((await api(w, 'GET', '/policies/strict/versions')).body).toHaveLength(1);

    const bad = await api(w, 'POST', '/policies', {
      body: { name: 'Bad', mode: 'enforce', rules: { resources: { memory: { max: 'huge' } } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.detail.problems).toEqual([expect.stringMatching(/^body\.name:/)]);
    const badBind = await api(w, 'POST', '/policies/strict/bindings', { body: { kind: 'team' } });
    expect(badBind.status).toBe(400);
    expect(badBind.body.detail.problems).toEqual(['body.value: is required for kind team']);
  });

  it('activating and binding a policy changes the decision for that principal only', async () => {
    const versions = await api(w, 'GET', '/policies/strict/versions');
    const versionId = versions.body[0].id;
    const request = { image: 'tools/app:1.0' };

    expect((await policies.decide(caller('erin'), request)).decision.allowed).toBe(true);
    const act = await api(w, 'POST', '/policies/strict/activate', { body: { versionId } });
    expect(act.status).toBe(200);
    expect(act.body).toMatchObject({ activeVersion: versionId, mode: 'enforce' });
    expect(
      (await api(w, 'POST', '/policies/strict/bindings', { body: { kind: 'principal', value: 'erin' } }))
        .status,
    ).toBe(201);

    const erin = await policies.decide(caller('erin'), request);
    expect(erin.decision).toMatchObject({ allowed: false, policy: 'strict', policyVersion: versionId });
    // Every failing rule is listed, each naming the value and the rule.
    expect(erin.decision.reasons.map((r) => r.message)).toEqual([
      'label cost-centre is required (policy strict, rule labels.required)',
      'label owner is required (policy strict, rule labels.required)',
    ]);
    expect((await policies.decide(caller('frank'), request)).decision).toMatchObject({
      allowed: true,
      policy: 'baseline',
    });

    const event = await eventually('decision event', async () => {
      const e = await auditEvents(`type=policy.decision&subject=${erin.launchRequestId}`);
      return e.length ? e[0] : undefined;
    });
    expect(event).toMatchObject({ principal: 'erin', decision: 'denied', policyHash: versionId });
    expect(event.payload.decision.reasons[0].rule).toBe('labels.required');
    expect(event.payload.spec.memoryBytes).toBeUndefined();
    expect(await count('launch_requests WHERE principal = $1', ['erin'])).toBe(2);
  });

  it('a principal in two teams bound to different policies is denied with a configuration error', async () => {
    await api(w, 'POST', '/policies/strict/bindings', { body: { kind: 'team', value: 'red' } });
    await api(w, 'POST', '/policies/baseline/bindings', { body: { kind: 'team', value: 'blue' } });
    const { decision } = await policies.decide(caller('gus', 'deployer', ['red', 'blue']), {
      image: 'app:1',
    });
    expect(decision).toMatchObject({ allowed: false, policy: null });
    expect(decision.reasons[0].message).toMatch(/matches 2 policies at team level/);
    expect((await api(w, 'DELETE', '/policies/baseline/bindings?kind=team&value=blue')).status).toBe(200);
    expect(
      (await policies.decide(caller('gus', 'deployer', ['red', 'blue']), { image: 'app:1' })).decision.policy,
    ).toBe('strict');
  });

  it('an exception admits until it expires, and its expiry is audited once', async () => {
    const four = await api(w, 'POST', '/exceptions', {
      body: {
        rule: 'labels.required',
        principalId: 'erin',
        image: { repository: 'tools/app' },
        requester: 'admin',
        ticket: 'CHG-1',
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
    });
    expect(four.status).toBe(400);
    expect(four.body.message).toMatch(/requester/);

    const created = await api(w, 'POST', '/exceptions', {
      body: {
        rule: 'labels.required',
        principalId: 'erin',
        image: { repository: 'tools/app' },
        requester: 'erin',
        ticket: 'CHG-2',
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ approver: 'admin', requester: 'erin' });

    const waived = await policies.decide(caller('erin'), { image: 'tools/app:1.0' });
    expect(waived.decision).toMatchObject({ allowed: true, reasons: [] });
    expect(waived.decision.waived).toHaveLength(2);
    expect(waived.decision.waived).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'labels.required', exceptionId: created.body.id }),
      ]),
    );
    // Another image is not covered.
    expect((await policies.decide(caller('erin'), { image: 'tools/other:1.0' })).decision.allowed).toBe(
      false,
    );

    await eventually('the exception to lapse', async () => {
      const { decision } = await policies.decide(
        caller('erin'),
        { image: 'tools/app:1.0' },
        { dryRun: true },
      );
      return !decision.allowed;
    });
    const expired = await eventually('exception.expired event', async () => {
      const e = await auditEvents(`type=exception.expired&subject=${created.body.id}`);
      return e.length ? e : undefined;
    });
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ principal: 'system', payload: { ticket: 'CHG-2' } });
    const live = await api(w, 'GET', '/exceptions?live=true');
    expect(live.body.map((e: { id: string }) => e.id)).not.toContain(created.body.id);
  });

  it('replay lists recorded launches a stricter candidate would deny, with reasons', async () => {
    await policies.decide(caller('frank'), { image: 'tools/app:2.0', memory: '1g' });
    const candidate = {
      name: 'baseline',
      mode: 'enforce',
      rules: { resources: { memory: { max: '768m', default: '256m' } } },
    };
    const r = await api(w, 'POST', '/policies/replay', {
      token: tokens.auditor,
      body: { candidate, from: started.toISOString(), to: new Date(Date.now() + 1000).toISOString() },
    });
    expect(r.status).toBe(200);
    expect(r.body.candidate).toMatchObject({ policy: 'baseline', stored: false });
    expect(r.body.allowedToDenied).toBe(1);
    expect(r.body.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          principal: 'frank',
          image: 'tools/app:2.0',
          change: 'allowed-to-denied',
          after: {
            allowed: false,
            reasons: [expect.objectContaining({ rule: 'resources.memory.max' })],
          },
        }),
      ]),
    );
    // Erin's denials under `strict` are allowed by a candidate without the label rule.
    expect(r.body.deniedToAllowed).toBeGreaterThan(0);
    expect(r.body.replayed).toBe(r.body.unchanged + r.body.changes.length);

    const bad = await api(w, 'POST', '/policies/replay', {
      body: { candidate, from: new Date().toISOString(), to: started.toISOString() },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.detail.problems).toEqual([expect.stringMatching(/^body\.to:/)]);
  });

  it('a pull is judged by the image-source rules only, and audited', async () => {
    const local = await policies.decidePull(caller('frank'), 'tools/app:latest');
    expect(local).toMatchObject({ allowed: true, policy: 'baseline', reasons: [] });
    const upstream = await policies.decidePull(caller('frank'), 'docker.io/library/busybox:1.36');
    expect(upstream.allowed).toBe(false);
    expect(upstream.reasons.map((r) => r.rule)).toEqual(['images.allowedRegistries']);
    await eventually('pull decision event', async () => {
      const e = await auditEvents('type=policy.decision&subject=docker.io/library/busybox:1.36');
      return e.length === 1 && e[0].decision === 'denied';
    });
  });

  it('versions are immutable in the database, and the baseline bootstrap does nothing once a policy exists', async () => {
    await expect(db.query(`UPDATE policy_versions SET created_by = 'mallory'`)).rejects.toThrow(/immutable/);
    await expect(db.query(`DELETE FROM policy_versions`)).rejects.toThrow(/immutable/);
    const before = await count('policy_versions');
    await w.app.get(BaselineBootstrap).onApplicationBootstrap();
    expect(await count('policy_versions')).toBe(before);
  });

  it('the routes are in the OpenAPI document', async () => {
    const spec = await api(w, 'GET', '/docs/openapi.json', { token: null });
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/policies',
        '/policies/replay',
        '/policies/{name}',
        '/policies/{name}/versions',
        '/policies/{name}/activate',
        '/policies/{name}/bindings',
        '/policies/{name}/evaluate',
        '/exceptions',
      ]),
    );
  });

  it('fails closed: with no policy bound, a launch is denied with a message saying so, and audited', async () => {
    expect((await api(w, 'DELETE', '/policies/baseline/bindings?kind=everyone')).status).toBe(200);
    const r = await policies.decide(caller('henry'), { image: 'app:1' });
    expect(r.decision).toMatchObject({ allowed: false, policy: null, policyVersion: null });
    expect(r.decision.reasons).toEqual([
      expect.objectContaining({
        rule: 'policy.binding',
        message: expect.stringMatching(/no policy is bound to principal henry.*launches are denied/),
      }),
    ]);
    const event = await eventually('fail-closed decision event', async () => {
      const e = await auditEvents(`type=policy.decision&subject=${r.launchRequestId}`);
      return e.length ? e[0] : undefined;
    });
    expect(event).toMatchObject({ principal: 'henry', decision: 'denied' });
    expect((await api(w, 'POST', '/policies/baseline/bindings', { body: { kind: 'everyone' } })).status).toBe(
      201,
    );
    expect((await policies.decide(caller('henry'), { image: 'app:1' })).decision.allowed).toBe(true);
  });
});
