import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AuditEvent, AuditService } from '../../src/audit';
import { api, startTestWarden, TestWarden } from '../utils/warden';
import { eventually } from '../utils/services';

async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('audit events: API enqueues, a real BullMQ worker commits them to the chain', () => {
  let w: TestWarden;
  beforeAll(async () => (w = await startTestWarden('up')));
  afterAll(() => w.close());

  const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    type: 'api.call',
    principal: 'tester',
    source: { via: 'http', ip: '127.0.0.1' },
    subject: 'thing',
    payload: { n: 1, nested: { b: [1, 2], a: 'x' } },
    ...over,
  });

  it('an enqueued job is processed by the worker into a row in Postgres', async () => {
    const e = event();
    await w.app.get(AuditService).enqueue(e);
    type Row = { id: string; type: string; payload: unknown; hash: string };
    const [row] = await eventually('the row', async () => {
      const rows = await sql<Row>(w.databaseUrl, 'SELECT * FROM audit_events WHERE id = $1', [e.id]);
      return rows.length ? rows : undefined;
    });
    expect(row).toMatchObject({ id: e.id, type: 'api.call', payload: e.payload });
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an event enqueued twice is stored once', async () => {
    const e = event();
    const audit = w.app.get(AuditService);
    await audit.enqueue(e);
    await eventually(
      'first copy',
      async () => (await sql(w.databaseUrl, 'SELECT 1 FROM audit_events WHERE id = $1', [e.id])).length === 1,
    );
    await audit.enqueue(e); // after completion: the job id is free again, the row is not
    const marker = event();
    await audit.enqueue(marker);
    await eventually(
      'marker',
      async () =>
        (await sql(w.databaseUrl, 'SELECT 1 FROM audit_events WHERE id = $1', [marker.id])).length === 1,
    );
    expect(await sql(w.databaseUrl, 'SELECT 1 FROM audit_events WHERE id = $1', [e.id])).toHaveLength(1);
    const verify = await api(w, 'GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
  });

  it('rows cannot be updated or deleted', async () => {
    await expect(sql(w.databaseUrl, `UPDATE audit_events SET principal = 'mallory'`)).rejects.toThrow(
      /append-only \(UPDATE refused\)/,
    );
    await expect(sql(w.databaseUrl, `DELETE FROM audit_events`)).rejects.toThrow(
      /append-only \(DELETE refused\)/,
    );
    await expect(sql(w.databaseUrl, `TRUNCATE audit_events`)).rejects.toThrow(
      /append-only \(TRUNCATE refused\)/,
    );
  });

  it('a row changed by hand with the trigger dropped is named by /audit/verify', async () => {
    const audit = w.app.get(AuditService);
    const ids = [event(), event(), event()];
    for (const e of ids) await audit.enqueue(e);
    await eventually(
      'three rows',
      async () =>
        (
          await sql(w.databaseUrl, 'SELECT 1 FROM audit_events WHERE id = ANY($1::uuid[])', [
            ids.map((e) => e.id),
          ])
        ).length === 3,
    );
    const before = await api(w, 'GET', '/audit/verify');
    expect(before.body.ok).toBe(true);

    const [{ seq }] = await sql<{ seq: string }>(
      w.databaseUrl,
      'SELECT seq FROM audit_events WHERE id = $1',
      [ids[1].id],
    );
    await sql(w.databaseUrl, 'ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
    await sql(w.databaseUrl, `UPDATE audit_events SET payload = '{"n": 2}' WHERE id = $1`, [ids[1].id]);
    await sql(w.databaseUrl, 'ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');

    const after = await api(w, 'GET', '/audit/verify');
    expect(after.body).toMatchObject({ ok: false, firstBroken: { seq: Number(seq), id: ids[1].id } });
    expect(after.body.firstBroken.reason).toMatch(/changed/);
  });
});
