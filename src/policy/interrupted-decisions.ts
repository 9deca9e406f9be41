import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { AuditService, type AuditEvent } from '../audit';
import { WARDEN_CONFIG, type WardenConfig } from '../platform/config';
import { PlainSql } from '../platform/database';
import { QueueName } from '../platform/queue';
import { stableEventId } from './stable-event-id';

/** How far back the first sweep of a data dir looks (later ones start where the last ended). */
const FIRST_SWEEP_DAYS = 7;
/**
 * A request another API node was deciding as this one booted has its decision enqueued within
 * the enqueue bound (2.5 s, then 1 s for a void): jobs added up to this long after boot are
 * waited for too, so a live node's decision is never taken for a missing one.
 */
const IN_FLIGHT_MS = 5_000;
const POLL_MS = 1_000;

interface Orphan {
  id: string;
  action: 'launch' | 'exec';
  principal: string;
  subject: string;
  decision: unknown;
  policy_version: string | null;
  created_at: Date;
  container: string | null;
}

/**
 * Every launch and exec request has its decision event (issue 13, point 4). A decision is
 * recorded in two steps, the request's row and then its `policy.decision` event; an API killed
 * between them (kill -9) leaves a row without its event, and the undo that would delete it
 * never ran. Nothing acted on such a request: a create or exec goes on only once the decision
 * event is acknowledged.
 *
 * At boot, once every audit job enqueued before it (and shortly after, see IN_FLIGHT_MS) has
 * been committed, this finds the requests made before boot that have no decision event, and
 * records one for each: `policy.decision` with decision `interrupted`, the decision the policy
 * had reached, and why nothing came of it. Its id is derived from the request's, so a sweep
 * repeated (a crash mid-sweep, two nodes booting together) is still one event. Where the last
 * completed sweep ended is kept in `<data dir>/run/decisions-swept`.
 */
@Injectable()
export class InterruptedDecisions implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('policy');
  private readonly plain: PlainSql;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** Settles when the sweep of this boot has ended (done, or given up at shutdown). */
  done: Promise<number> = Promise.resolve(0);

  constructor(
    ds: DataSource,
    private readonly audit: AuditService,
    @InjectQueue(QueueName.Audit) private readonly queue: Queue,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {
    this.plain = new PlainSql(ds);
  }

  onApplicationBootstrap(): void {
    const bootAt = new Date();
    this.done = this.sweepUntilDone(bootAt);
  }

  /** A sweep that fails (the database or Redis down at boot) is tried again until it is done. */
  private async sweepUntilDone(bootAt: Date): Promise<number> {
    for (;;) {
      try {
        return await this.sweep(bootAt);
      } catch (err) {
        if (this.stopped) return 0;
        this.log.warn(`interrupted decisions not swept yet, retrying: ${(err as Error).message}`);
        await this.pause(10 * POLL_MS);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      this.timer = setTimeout(r, ms);
      this.timer.unref();
    });
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private get watermarkFile(): string {
    return path.join(this.config.dataDir, 'run', 'decisions-swept');
  }

  /** Records the missing decisions; resolves with how many. */
  private async sweep(bootAt: Date): Promise<number> {
    await this.backlogCommitted(bootAt.getTime() + IN_FLIGHT_MS);
    const from = this.lastSwept() ?? new Date(bootAt.getTime() - FIRST_SWEEP_DAYS * 86_400_000);
    const orphans = await this.orphans(from, bootAt);
    if (orphans.length) {
      await this.audit.enqueueAll(orphans.map((o) => this.interrupted(o)));
      this.log.warn(
        `${orphans.length} request(s) had no decision event (Warden stopped between the two): recorded as interrupted`,
      );
    }
    fs.mkdirSync(path.dirname(this.watermarkFile), { recursive: true });
    fs.writeFileSync(this.watermarkFile, bootAt.toISOString());
    return orphans.length;
  }

  private lastSwept(): Date | undefined {
    try {
      const d = new Date(fs.readFileSync(this.watermarkFile, 'utf8').trim());
      return Number.isNaN(d.getTime()) ? undefined : d;
    } catch {
      return undefined;
    }
  }

  /** Waits until no audit job added before `until` is still waiting, retrying or running. */
  private async backlogCommitted(until: number): Promise<void> {
    for (;;) {
      if (this.stopped) throw new Error('stopped');
      if (Date.now() >= until) {
        const [oldestWaiting] = await this.queue.getJobs(['wait', 'prioritized'], 0, 0, true);
        const running = await this.queue.getJobs(['active', 'delayed'], 0, 999);
        const older = (j: Job | undefined) => j !== undefined && j.timestamp < until;
        if (!older(oldestWaiting) && !running.some(older)) return;
      }
      await this.pause(POLL_MS);
    }
  }

  private orphans(from: Date, to: Date): Promise<Orphan[]> {
    return this.plain.rows<Orphan>(
      `SELECT lr.id::text AS id, 'launch'::text AS action, lr.principal, lr.id::text AS subject,
              lr.decision, lr.policy_version::text AS policy_version, lr.created_at,
              NULL::text AS container
         FROM launch_requests lr
        WHERE lr.created_at >= $1 AND lr.created_at < $2
          -- A Kubernetes review's rows are written with its event (audit/admission-launches.ts),
          -- whose subject is the reviewed object: never an orphan.
          AND NOT lr.request ? 'admission'
          AND NOT EXISTS (SELECT 1 FROM audit_events e
                           WHERE e.subject = lr.id::text AND e.type = 'policy.decision')
       UNION ALL
       SELECT er.id::text, 'exec'::text, er.principal, er.spec->'container'->>'id', er.decision,
              er.policy_version::text, er.created_at, er.spec->'container'->>'name'
         FROM exec_requests er
        WHERE er.created_at >= $1 AND er.created_at < $2
          AND NOT EXISTS (SELECT 1 FROM audit_events e
                           WHERE e.subject = er.spec->'container'->>'id' AND e.type = 'policy.decision'
                             AND e.payload->>'execId' = er.id::text)
        ORDER BY created_at`,
      [from, to],
    );
  }

  private interrupted(o: Orphan): AuditEvent {
    return {
      id: stableEventId('policy.decision.interrupted', o.id),
      type: 'policy.decision',
      occurredAt: new Date().toISOString(),
      principal: o.principal,
      source: { via: 'system' },
      subject: o.subject,
      decision: 'interrupted',
      policyHash: o.policy_version ?? undefined,
      payload: {
        action: o.action,
        ...(o.action === 'launch' ? { launchRequestId: o.id } : { execId: o.id, container: o.container }),
        requestedAt: new Date(o.created_at).toISOString(),
        decision: o.decision,
        interrupted:
          'Warden stopped after recording the request and before recording its decision; nothing acted on it',
      },
    };
  }
}
