/**
 * Where a review's wall time goes (bench/admission): while installed, the webhook's steps are
 * timed per review in the Warden process. Each review runs in its own AsyncLocalStorage store,
 * opened where the HTTPS server hands it the request; the steps' prototypes are wrapped, so
 * the code timed is the code deployed. Installed only for the breakdown run (the store and the
 * wrappers cost CPU themselves), never for the runs the verdict is on.
 *
 *   request event ─ read ─► review() ─ judge ─► [PostgreSQL row] ─► [Redis add] ─► answer ─► res finish
 *                                     (zod, mapping, policy)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { Queue } from 'bullmq';
import { AdmissionServer, AdmissionService } from '../../src/admission';
import { AuditService } from '../../src/audit';
import { PolicyService } from '../../src/policy';

export const PHASES = ['in server', 'read body', 'judge', 'postgres row', 'redis event', 'answer'] as const;
export type Phase = (typeof PHASES)[number];

interface Review {
  t0: number;
  reviewStart?: number;
  reviewEnd?: number;
  pg: number;
  redis: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;

export class Breakdown {
  readonly samples = Object.fromEntries(PHASES.map((p) => [p, [] as number[]])) as Record<Phase, number[]>;
  /** Each Redis add (one BullMQ add script and its AOF fsync) and how many events it carried. */
  readonly adds: Array<{ ms: number; events: number }> = [];
  private readonly als = new AsyncLocalStorage<Review>();
  private readonly undo: Array<() => void> = [];

  install(): void {
    const { als, adds } = this;
    const done = (r: Review) => this.done(r);
    this.patch(
      AdmissionServer.prototype,
      'handle',
      (orig) =>
        function (this: unknown, req: unknown, res: ServerResponse) {
          const r: Review = { t0: performance.now(), pg: 0, redis: 0 };
          res.once('finish', () => done(r));
          return als.run(r, () => orig.call(this, req, res));
        },
    );
    this.patch(
      AdmissionService.prototype,
      'review',
      (orig) =>
        async function (this: unknown, ...args: unknown[]) {
          const r = als.getStore();
          if (r) r.reviewStart = performance.now();
          try {
            return await orig.apply(this, args);
          } finally {
            if (r) r.reviewEnd = performance.now();
          }
        },
    );
    const timed = (key: 'pg' | 'redis') => (orig: AnyFn) =>
      async function (this: unknown, ...args: unknown[]) {
        const t = performance.now();
        try {
          return await orig.apply(this, args);
        } finally {
          const r = als.getStore();
          if (r) r[key] += performance.now() - t;
        }
      };
    // recordDecision(what, id, insert, undo, event): the insert is the PostgreSQL row(s).
    this.patch(
      PolicyService.prototype,
      'recordDecision',
      (orig) =>
        function (this: unknown, ...args: unknown[]) {
          args[2] = timed('pg')(args[2] as AnyFn);
          return orig.apply(this, args);
        },
    );
    this.patch(AuditService.prototype, 'record', timed('redis'));
    const add = (events: (args: unknown[]) => number) => (orig: AnyFn) =>
      async function (this: Queue, ...args: unknown[]) {
        const t = performance.now();
        const out: unknown = await orig.apply(this, args);
        if (this.name.includes('audit')) adds.push({ ms: performance.now() - t, events: events(args) });
        return out;
      };
    const carried = (data: unknown) => {
      const d = data as { events?: unknown[] } | undefined;
      return Array.isArray(d?.events) ? d.events.length : 1;
    };
    this.patch(
      Queue.prototype,
      'add',
      add((a) => carried(a[1])),
    );
    this.patch(
      Queue.prototype,
      'addBulk',
      add((a) => (a[0] as Array<{ data: unknown }>).reduce((n, j) => n + carried(j.data), 0)),
    );
  }

  uninstall(): void {
    for (const u of this.undo.splice(0).reverse()) u();
  }

  private done(r: Review): void {
    const end = performance.now();
    if (r.reviewStart === undefined || r.reviewEnd === undefined) return;
    this.samples['in server'].push(end - r.t0);
    this.samples['read body'].push(r.reviewStart - r.t0);
    this.samples.judge.push(r.reviewEnd - r.reviewStart - r.pg - r.redis);
    this.samples['postgres row'].push(r.pg);
    this.samples['redis event'].push(r.redis);
    this.samples.answer.push(end - r.reviewEnd);
  }

  private patch(target: object, name: string, wrap: (orig: AnyFn) => AnyFn): void {
    const t = target as Record<string, AnyFn>;
    const orig = t[name];
    t[name] = wrap(orig);
    this.undo.push(() => (t[name] = orig));
  }
}
