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
    const g = new GroupedEnqueuer<Item>(q.queue, shapes, 2);
    const a = state(g.send(items('a')));
    const b = state(g.send(items('b')));
    const c = state(g.send(items('c', 'd', 'e')));
    q.settle[0]();
    await tick();
    expect(q.trips[1].map((j) => j.jobId)).toEqual(['b', groupJobId(items('c', 'd')), 'e']);
    q.settle[1](new Error('redis gone'));
    await tick();
    expect([a(), b(), c()]).toEqual(['resolved', 'rejected: redis gone', 'rejected: redis gone']);
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
