import { api, startTestWarden, TestWarden } from '../utils/warden';
import { eventually } from '../utils/services';

describe('HTTP surface: errors, tokens and roles, docs, metrics, health', () => {
  let w: TestWarden;
  beforeAll(async () => (w = await startTestWarden('up')));
  afterAll(() => w.close());

  it('an unknown route answers 404 in the JSON error shape', async () => {
    const r = await api(w, 'GET', '/no/such/thing');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({
      statusCode: 404,
      code: 'ROUTE_NOT_FOUND',
      message: expect.stringContaining('GET /no/such/thing'),
    });
    expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
  });

  it('malformed JSON answers 400 naming the problem, and changes nothing', async () => {
    const before = await api(w, 'GET', '/principals');
    const r = await api(w, 'POST', '/principals', { raw: '{"id": "x", ' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'MALFORMED_JSON',
      message: expect.stringMatching(/not valid JSON/),
    });
    expect((await api(w, 'GET', '/principals')).body).toEqual(before.body);
  });

  it('a missing or unknown token answers 401 with a Bearer challenge', async () => {
    const none = await api(w, 'GET', '/audit/events', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('Authorization: Bearer'),
    });
    const bad = await api(w, 'GET', '/audit/events', { token: 'wdn_not-a-real-token' });
    expect(bad.status).toBe(401);
    expect(bad.body.message).toMatch(/not recognised/);
  });

  it('validation errors list every bad field', async () => {
    const r = await api(w, 'POST', '/principals', { body: { id: 'Bad Id!', role: 'root' } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(r.body.detail.problems).toEqual([
      expect.stringMatching(/^body\.id:/),
      expect.stringMatching(/^body\.role:/),
    ]);
  });

  it('tokens: issued by an admin, shown once, role-checked, revocable, audited', async () => {
    expect(
      (await api(w, 'POST', '/principals', { body: { id: 'carol', role: 'auditor', teams: ['grc'] } }))
        .status,
    ).toBe(201);
    const issued = await api(w, 'POST', '/tokens', { body: { principalId: 'carol', name: 'laptop' } });
    expect(issued.status).toBe(201);
    const token = issued.body.token as string;
    expect(token).toMatch(/^wdn_/);
    expect(JSON.stringify((await api(w, 'GET', '/tokens')).body)).not.toContain(token);

    expect((await api(w, 'GET', '/audit/events', { token })).status).toBe(200);
    const denied = await api(w, 'POST', '/tokens', { token, body: { principalId: 'carol', name: 'x' } });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/needs role admin; principal 'carol' has role auditor/);

    expect((await api(w, 'DELETE', `/tokens/${issued.body.id}`)).status).toBe(200);
    expect((await api(w, 'GET', '/audit/events', { token })).status).toBe(401);

    const events = await eventually('token events', async () => {
      const r = await api(w, 'GET', `/audit/events?subject=${issued.body.id}`);
      return r.body.events.length === 2 ? r.body.events : undefined;
    });
    expect(events.map((e: { type: string }) => e.type)).toEqual(['token.created', 'token.revoked']);
    expect(events[0]).toMatchObject({ principal: 'admin', source: { via: 'http', tokenId: 'bootstrap' } });
  });

  it('serves OpenAPI at /docs, Prometheus metrics and a green /health without a token', async () => {
    const spec = await api(w, 'GET', '/docs/openapi.json', { token: null });
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/health', '/audit/events', '/audit/verify', '/tokens']),
    );
    expect((await api(w, 'GET', '/docs', { token: null })).body).toContain('swagger');
    const metrics = await api(w, 'GET', '/metrics', { token: null });
    expect(metrics.body).toContain('warden_http_request_duration_seconds');
    expect(metrics.body).toContain('warden_audit_events_enqueued_total');
    const health = await api(w, 'GET', '/health', { token: null });
    expect(health.status).toBe(200);
    expect(health.body.info).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
      runtime: { status: 'up' },
    });
  });
});
