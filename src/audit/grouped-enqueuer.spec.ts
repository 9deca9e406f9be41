import type { Queue } from 'bullmq';
import { GroupedEnqueuer, groupJobId, packJobs } from './grouped-enqueuer';

type Item = { id: string };
const items = (...ids: string[]): Item[] => ids.map((id) => ({ id }));
const shapes = {
  single: (i: Item) => ({ name: 'one', data: i }),
  group: (is: Item[]) => ({ name: 'many', data: { items: is } }),
};

/** A queue whose adds the test settles by hand, recording what each round trip carried. */
function manualQueue() {
  const trips: Array<Array<{ name: string; data: unknown; jobId?: string }>> = [];
  const settle: Array<(err?: Error) => void> = [];
  const trip = (jobs: Array<{ name: string; data: unknown; opts?: { jobId?: string } }>) => {
    trips.push(jobs.map((j) => ({ name: j.name, data: j.data, jobId: j.opts?.jobId })));
    return new Promise<void>((resolve, reject) => settle.push((err) => (err ? reject(err) : resolve())));
  };
  const queue = {
    name: 'audit',
    add: (name: string, data: unknown, opts?: { jobId?: string }) => trip([{ name, data, opts }]),
    addBulk: (jobs: Array<{ name: string; data: unknown; opts?: { jobId?: string } }>) => trip(jobs),
  } as unknown as Queue;
  return { queue, trips, settle };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const state = (p: Promise<void>) => {
  let s = 'pending';
  p.then(
    () => (s = 'resolved'),
    (e: Error) => (s = `rejected: ${e.message}`),
  );
  return () => s;
};

describe('packJobs', () => {
  it('packs whole sends in order, never splitting one that fits, and splits only sends larger than a job', () => {
    expect(
      packJobs([items('a', 'b'), items('c'), items('d', 'e')], 3).map((j) => j.map((i) => i.id)),
    ).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    expect(
      packJobs([items('a'), items('b', 'c', 'd', 'e', 'f'), items('g')], 2).map((j) => j.map((i) => i.id)),
    ).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f'], ['g']]);
  });
});

describe('GroupedEnqueuer', () => {
  it('sends at once when idle; what arrives while an add is in flight waits, then travels as one job', async () => {
    const q = manualQueue();
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 10);
    const first = state(g.send(items('a')));
    expect(q.trips).toEqual([[{ name: 'one', data: { id: 'a' }, jobId: 'a' }]]);
    const second = state(g.send(items('b', 'c')));
    const third = state(g.send(items('d')));
    await tick();
    expect(q.trips).toHaveLength(1); // b, c, d wait for the add in flight
    expect([first(), second(), third()]).toEqual(['pending', 'pending', 'pending']);
    q.settle[0]();
    await tick();
    expect(first()).toBe('resolved');
    expect(second()).toBe('pending'); // acknowledged only once its own job is in Redis
    expect(q.trips[1]).toEqual([
      { name: 'many', data: { items: items('b', 'c', 'd') }, jobId: groupJobId(items('b', 'c', 'd')) },
    ]);
    q.settle[1]();
    await tick();
    expect([second(), third()]).toEqual(['resolved', 'resolved']);
  });

  it('rejects every send of a failed add, and goes on with the next', async () => {
    const q = manualQueue();
    const voided: string[][] = [];
    const voider = { void: async (ids: string[]) => (voided.push(ids), 'voided' as const) };
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 2, { voider });
    const a = state(g.send(items('a')));
    const b = state(g.send(items('b')));
    const c = state(g.send(items('c', 'd', 'e')));
    q.settle[0]();
    await tick();
    expect(q.trips[1].map((j) => j.jobId)).toEqual(['b', groupJobId(items('c', 'd')), 'e']);
    q.settle[1](new Error('redis gone'));
    await tick();
    const refused =
      'rejected: Redis did not take the audit job (redis gone), so nothing was done; retry when /health shows it up';
    expect([a(), b(), c()]).toEqual(['resolved', refused, refused]);
    // The connection was lost with the add on it: its jobs are voided before the refusal.
    expect(voided).toEqual([q.trips[1].map((j) => j.jobId)]);
    const d = state(g.send(items('f')));
    expect(q.trips).toHaveLength(3);
    q.settle[2]();
    await tick();
    expect(d()).toBe('resolved');
  });

  it('names a group by all of its ids: another group led by the same item is another job', () => {
    expect(groupJobId(items('a', 'b'))).toBe(groupJobId(items('a', 'b')));
    expect(groupJobId(items('a', 'b'))).not.toBe(groupJobId(items('a', 'c')));
    expect(groupJobId(items('a', 'b'))).toMatch(/^g-[0-9a-f]{40}$/);
  });
});

describe('GroupedEnqueuer, abandoned sends', () => {
  it('takes back a send aborted while it waits: it is never sent; one already sent is settled by its add', async () => {
    const q = manualQueue();
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 10);
    const early = new AbortController();
    const sent = state(g.send(items('a'), early.signal));
    const late = new AbortController();
    const waiting = state(g.send(items('b'), late.signal));
    const other = state(g.send(items('c')));
    late.abort(new Error('timed out waiting for Redis'));
    early.abort(new Error('too late to take back'));
    await tick();
    expect(waiting()).toBe('rejected: timed out waiting for Redis');
    expect(sent()).toBe('pending');
    q.settle[0]();
    await tick();
    expect(sent()).toBe('resolved');
    expect(q.trips[1]).toEqual([{ name: 'one', data: { id: 'c' }, jobId: 'c' }]); // b never went
    q.settle[1]();
    await tick();
    expect(other()).toBe('resolved');
    await expect(g.send(items('d'), late.signal)).rejects.toThrow('timed out waiting for Redis');
    expect(q.trips).toHaveLength(2);
  });
});

describe('GroupedEnqueuer, an add Redis does not answer in time', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());
  const flushAll = async () => {
    for (let i = 0; i < 30; i++) await Promise.resolve();
  };

  it('voided: refused (503) and the job will never commit; a send queued behind it is refused unsent', async () => {
    const q = manualQueue();
    const voided: string[][] = [];
    const voider = { void: async (ids: string[]) => (voided.push(ids), 'voided' as const) };
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 10, { voider, timeoutMs: 1000 });
    const a = state(g.send(items('a')));
    const b = state(g.send(items('b')));
    jest.advanceTimersByTime(1000);
    await flushAll();
    expect(voided).toEqual([['a']]);
    expect(a()).toMatch(/^rejected: Redis did not take the audit job \(no answer within 1000 ms\)/);
    expect(b()).toMatch(/^rejected: .*queued behind an add Redis did not answer/);
    q.settle[0](); // the add runs late: its job is void, and b was never sent
    await flushAll();
    expect(q.trips).toHaveLength(1);
    expect(a()).toMatch(/^rejected/);
  });

  it('landed: a worker already claimed the job, so the add ran and the send is acknowledged', async () => {
    const q = manualQueue();
    const voider = { void: async () => 'landed' as const };
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 10, { voider, timeoutMs: 1000 });
    const a = state(g.send(items('a')));
    jest.advanceTimersByTime(1000);
    await flushAll();
    expect(a()).toBe('resolved');
  });

  it('no answer to the void either: refused, marked unconfirmed, and the void is tried again', async () => {
    const q = manualQueue();
    let calls = 0;
    const voider = {
      // The first void is answered late, by a lost connection; the retry a second later lands.
      void: (): Promise<'voided'> =>
        ++calls === 1
          ? new Promise((_, reject) => setTimeout(() => reject(new Error('Connection is closed.')), 300))
          : Promise.resolve('voided'),
    };
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 10, { voider, timeoutMs: 1000, voidWaitMs: 200 });
    const sent = g.send(items('a'));
    const settled = sent.catch((e: { detail?: unknown }) => e.detail);
    jest.advanceTimersByTime(1000);
    await flushAll();
    jest.advanceTimersByTime(200);
    await flushAll();
    expect(await settled).toEqual({ server: 'redis', queue: 'audit', unconfirmed: true });
    expect(calls).toBe(1);
    jest.advanceTimersByTime(100); // the first void fails
    await flushAll();
    jest.advanceTimersByTime(1000); // and is tried again
    await flushAll();
    expect(calls).toBe(2);
  });

  it('a retried void that finds the jobs claimed hands their items to onLateLanding, once', async () => {
    const q = manualQueue();
    let calls = 0;
    const voider = {
      void: (): Promise<'landed'> =>
        ++calls === 1
          ? new Promise((_, reject) => setTimeout(() => reject(new Error('Connection is closed.')), 300))
          : Promise.resolve('landed'),
    };
    const late: string[][] = [];
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 10, {
      voider,
      timeoutMs: 1000,
      voidWaitMs: 200,
      onLateLanding: (landed) => late.push(landed.map((i) => i.id)),
    });
    const a = state(g.send(items('a', 'b')));
    jest.advanceTimersByTime(1000);
    await flushAll();
    jest.advanceTimersByTime(200);
    await flushAll();
    expect(a()).toMatch(/^rejected/);
    expect(late).toEqual([]);
    jest.advanceTimersByTime(100); // the first void fails
    await flushAll();
    jest.advanceTimersByTime(1000); // the retry finds a worker's claim
    await flushAll();
    expect(late).toEqual([['a', 'b']]);
    jest.advanceTimersByTime(5000);
    await flushAll();
    expect([calls, late.length]).toEqual([2, 1]);
  });
});
