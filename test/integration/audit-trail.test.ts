import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Queue } from 'bullmq';
import { AuditEvent, AuditJobName, AuditProcessor, AuditService } from '../../src/audit';
import { ioredisOptions, QUEUE_PREFIX, QueueName } from '../../src/platform/queue';
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

  it('the worker holds one job at a time while the queue is quiet, more under a backlog, and one again once it drains', async () => {
    const worker = w.app.get(AuditProcessor).worker;
    const audit = w.app.get(AuditService);
    const stored = async (ids: string[]) =>
      Number(
        (
          await sql<{ n: string }>(
            w.databaseUrl,
            'SELECT count(*) AS n FROM audit_events WHERE id = ANY($1::uuid[])',
            [ids],
          )
        )[0].n,
      );
    await eventually('a quiet worker', async () => worker.concurrency === 1);
    // A sparse stream: each event alone, committed before the next is sent.
    for (let i = 0; i < 3; i++) {
      const e = event();
      await audit.enqueue(e);
      await eventually('its row', async () => (await stored([e.id])) === 1);
      expect(worker.concurrency).toBe(1);
    }
    // A backlog of single-event jobs (as queued up while the worker was away).
    const queue = new Queue(QueueName.Audit, {
      connection: ioredisOptions(w.infra.redis),
      prefix: QUEUE_PREFIX,
    });
    try {
      const events = Array.from({ length: 400 }, () => event());
      let most = 0;
      const watch = setInterval(() => (most = Math.max(most, worker.concurrency)), 1);
      await queue.addBulk(events.map((e) => ({ name: AuditJobName.Event, data: e, opts: { jobId: e.id } })));
      await eventually(
        'every event of the backlog',
        async () => (await stored(events.map((e) => e.id))) === 400,
      );
      clearInterval(watch);
      expect(most).toBeGreaterThan(1);
      await eventually('a quiet worker again', async () => worker.concurrency === 1);
    } finally {
      await queue.close();
    }
    expect((await api(w, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
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
