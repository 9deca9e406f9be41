import type { JobsOptions, Queue } from 'bullmq';
import { createHash } from 'node:crypto';

/** How one job carries one item, or several. */
export interface JobShapes<T> {
  single(item: T): { name: string; data: unknown };
  group(items: T[]): { name: string; data: unknown };
}

/**
 * Puts items on a BullMQ queue many per job, and settles each caller once the job that
 * carries its items is in Redis (AOF on): acknowledged means durable, as with one job per item.
 *
 * Group enqueue, like the worker's group commit: while no add is in flight, a send goes out at
 * once (no added latency when idle); sends that arrive while one is in flight wait for it and
 * then travel together. Under load a job holds whatever arrived during the last round trip, up
 * to `maxPerJob`, so Redis runs BullMQ's add script (and the worker its fetch and finish) once
 * per group instead of once per item (bench/README.md, fifth round).
 *
 * A job of one item keeps the old shape and `jobId` = the item's id, so an item enqueued twice
 * while its first copy waits is still one job. A group's jobId is a digest of its ids: a resend
 * of the same group is one job, and a different group can never be mistaken for it (with the
 * first item's id as jobId, a new group led by a resent item would be dropped by BullMQ as a
 * duplicate). Past that, items dedupe in SQL on their own ids.
 */
export class GroupedEnqueuer<T extends { id: string }> {
  private pending: Array<{ items: T[]; resolve: () => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;

  constructor(
    private readonly queue: Queue,
    private readonly shapes: JobShapes<T>,
    private readonly maxPerJob: number,
    /** Adds in flight at once before sends start to wait and group. */
    private readonly maxInFlight = 1,
    /** Runs after each add, before its sends resolve: e.g. waiting for Redis replicas. */
    private readonly confirm: () => Promise<void> = async () => undefined,
  ) {}

  /**
   * Resolves once every item is in a job Redis has accepted; rejects if any of those adds
   * failed. A send still waiting for the add in flight when `signal` aborts is taken back and
   * never sent (rejects with the signal's reason): a caller that gives up on Redis (a timeout)
   * can then be sure its items will not land later. Once its add has gone out, aborting
   * changes nothing: the add's own outcome settles it.
   */
  send(items: T[], signal?: AbortSignal): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const entry = { items, resolve, reject };
      this.pending.push(entry);
      if (this.inFlight < this.maxInFlight) return this.flush();
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.pending.indexOf(entry);
          if (at < 0) return; // already sent
          this.pending.splice(at, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const sends = this.pending;
    this.pending = [];
    const jobs = packJobs(
      sends.map((s) => s.items),
      this.maxPerJob,
    ).map((chunk) =>
      chunk.length === 1
        ? { ...this.shapes.single(chunk[0]), opts: { jobId: chunk[0].id } as JobsOptions }
        : { ...this.shapes.group(chunk), opts: { jobId: groupJobId(chunk) } as JobsOptions },
    );
    this.inFlight += 1;
    const added = (
      jobs.length === 1 ? this.queue.add(jobs[0].name, jobs[0].data, jobs[0].opts) : this.queue.addBulk(jobs)
    ).then(() => this.confirm());
    added
      .then(
        () => sends.forEach((s) => s.resolve()),
        (err: unknown) => sends.forEach((s) => s.reject(err)),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
  }
}

/**
 * Packs sends into jobs of at most `max` items without splitting a send that fits in one job:
 * a job takes whole sends in arrival order; a send larger than `max` gets jobs of its own.
 */
export function packJobs<T>(sends: T[][], max: number): T[][] {
  const jobs: T[][] = [];
  let open: T[] = [];
  for (const items of sends) {
    if (items.length > max) {
      if (open.length) jobs.push(open);
      open = [];
      for (let at = 0; at < items.length; at += max) jobs.push(items.slice(at, at + max));
      continue;
    }
    if (open.length + items.length > max) {
      jobs.push(open);
      open = [];
    }
    open = open.length ? open.concat(items) : items;
  }
  if (open.length) jobs.push(open);
  return jobs;
}

/** BullMQ refuses custom ids that are integers or contain ':'; this is neither. */
export function groupJobId(items: Array<{ id: string }>): string {
  const h = createHash('sha256');
  for (const i of items) h.update(i.id).update('\n');
  return `g-${h.digest('hex').slice(0, 40)}`;
}
