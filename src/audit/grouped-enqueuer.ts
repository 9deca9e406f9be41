import { Logger } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import { WardenError } from '../platform/errors';
import { ENQUEUE_TIMEOUT_MS } from '../platform/queue';
import { queueVoider, type JobVoider } from './job-claims';

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
export interface EnqueuerOptions<T = unknown> {
  /** Adds in flight at once before sends start to wait and group. Default 1. */
  maxInFlight?: number;
  /** How long a send waits for Redis: queued behind an add, and then for its own. */
  timeoutMs?: number;
  /** How long the void of a timed-out add may take before the send is refused anyway. */
  voidWaitMs?: number;
  /** Default: claims on the queue's own connection (job-claims.ts). */
  voider?: JobVoider;
  /** Runs after each add, before its sends resolve: e.g. waiting for Redis replicas. */
  confirm?: () => Promise<void>;
  /**
   * Items whose callers were answered 503 ("nothing was done") and which a worker committed
   * anyway: their add ran after all, learnt only once a void retried after Redis came back found
   * them claimed. What they record did not happen; the audit trail says so (AuditService).
   */
  onLateLanding?: (items: T[]) => void;
}

/** Sent nowhere: ioredis refused the command while disconnected (no offline queue). */
const NEVER_SENT = /enableOfflineQueue/;

interface PendingSend<T> {
  items: T[];
  resolve: () => void;
  reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
}

export class GroupedEnqueuer<T extends { id: string }> {
  private readonly log = new Logger('audit');
  private pending: Array<PendingSend<T>> = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly voidWaitMs: number;
  private readonly voider: JobVoider;
  private readonly confirm: () => Promise<void>;
  private readonly onLateLanding: (items: T[]) => void;

  constructor(
    private readonly queue: Queue,
    private readonly shapes: JobShapes<T>,
    private readonly maxPerJob: number,
    opts: EnqueuerOptions<T> = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 1;
    this.timeoutMs = opts.timeoutMs ?? ENQUEUE_TIMEOUT_MS;
    this.voidWaitMs = opts.voidWaitMs ?? 1000;
    this.voider = opts.voider ?? queueVoider(queue);
    this.confirm = opts.confirm ?? (async () => undefined);
    this.onLateLanding = opts.onLateLanding ?? (() => undefined);
  }

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
      const entry: PendingSend<T> = { items, resolve, reject };
      this.pending.push(entry);
      if (this.inFlight < this.maxInFlight) return this.flush();
      const takeBack = (reason: unknown) => {
        const at = this.pending.indexOf(entry);
        if (at < 0) return; // already sent
        this.pending.splice(at, 1);
        clearTimeout(entry.timer);
        reject(reason);
      };
      // Queued behind an add Redis does not answer: refused in time, and never sent.
      entry.timer = setTimeout(
        () => takeBack(unavailable(this.queue.name, 'queued behind an add Redis did not answer', false)),
        this.timeoutMs,
      );
      signal?.addEventListener('abort', () => takeBack(signal.reason), { once: true });
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const sends = this.pending;
    this.pending = [];
    for (const s of sends) clearTimeout(s.timer);
    const jobs = packJobs(
      sends.map((s) => s.items),
      this.maxPerJob,
    ).map((chunk) =>
      chunk.length === 1
        ? { ...this.shapes.single(chunk[0]), opts: { jobId: chunk[0].id } as JobsOptions }
        : { ...this.shapes.group(chunk), opts: { jobId: groupJobId(chunk) } as JobsOptions },
    );
    this.inFlight += 1;
    // The confirmation (replicas, with Sentinel) is part of the add: both within the bound.
    const added: Promise<unknown> = (
      jobs.length === 1 ? this.queue.add(jobs[0].name, jobs[0].data, jobs[0].opts) : this.queue.addBulk(jobs)
    ).then(() => this.confirm());
    this.settle(
      added,
      jobs.map((j) => j.opts.jobId!),
      sends.flatMap((s) => s.items),
    )
      .then(
        () => sends.forEach((s) => s.resolve()),
        (err: unknown) => sends.forEach((s) => s.reject(err)),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
  }

  /**
   * The add's outcome as its callers must hear it. Answered by Redis in time: that. Refused
   * before it was sent: refused. Otherwise (no answer in time, or a connection lost with the
   * add on it) the add may yet run, so its jobs are voided (job-claims.ts): 'voided' means they
   * will never be committed and the refusal is true; 'landed' means a worker already has them,
   * so the events are durable and the callers may act.
   */
  private async settle(added: Promise<unknown>, jobIds: string[], items: T[]): Promise<void> {
    added.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), this.timeoutMs)));
    let why = `no answer within ${this.timeoutMs} ms`;
    try {
      if ((await Promise.race([added, late])) !== 'late') return;
    } catch (err) {
      why = (err as Error).message ?? String(err);
      if (NEVER_SENT.test(why)) throw unavailable(this.queue.name, why, false, err);
    } finally {
      clearTimeout(timer);
    }
    const voided = this.voider.void(jobIds);
    let wait: NodeJS.Timeout | undefined;
    const verdict = await Promise.race([
      voided.catch(() => 'unknown' as const),
      new Promise<'unknown'>((r) => (wait = setTimeout(() => r('unknown'), this.voidWaitMs))),
    ]).finally(() => clearTimeout(wait));
    if (verdict === 'landed') return;
    if (verdict === 'unknown') this.voidLater(voided, jobIds, items);
    throw unavailable(this.queue.name, why, verdict === 'unknown');
  }

  /**
   * A void Redis has not answered either: it is on the connection after the add and settles
   * with it. If it fails (the connection was lost), it is tried again until Redis answers; a
   * 'landed' then means callers were refused for items that were committed: logged as the error
   * it is, and handed to `onLateLanding`.
   */
  private voidLater(voided: Promise<unknown>, jobIds: string[], items: T[], tries = 0): void {
    voided.then(
      (v) => {
        if (v !== 'landed') return;
        this.log.error(
          `${this.queue.name} jobs ${jobIds.join(', ')} landed after their callers were answered 503`,
        );
        this.onLateLanding(items);
      },
      () => {
        if (tries >= 600)
          return this.log.error(`${this.queue.name} jobs ${jobIds.join(', ')}: void not confirmed`);
        setTimeout(() => this.voidLater(this.voider.void(jobIds), jobIds, items, tries + 1), 1000).unref();
      },
    );
  }
}

function unavailable(queue: string, why: string, uncertain: boolean, cause?: unknown): WardenError {
  return new WardenError(
    'REDIS_UNAVAILABLE',
    `Redis did not take the ${queue} job (${why}), so nothing was done; retry when /health shows it up`,
    { server: 'redis', queue, ...(uncertain && { unconfirmed: true }) },
    { cause },
  );
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
