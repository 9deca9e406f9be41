import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit';
import { WardenError } from '../platform/errors';
import type { Caller } from '../platform/http';
import { ExceptionRecord, ExceptionRepository } from './exception.repository';
import { PolicyService } from './policy.service';
import { stableEventId } from './stable-event-id';

export interface ExceptionInput {
  rule: string;
  principalId?: string;
  team?: string;
  image: { repository?: string; digest?: string };
  requester: string;
  ticket: string;
  expiresAt: Date;
}

// Exceptions stop admitting at expiresAt whatever the sweep does (evaluatePolicy compares
// times); the sweep only puts the expiry on the audit trail, so a second of lag is fine.
const SWEEP_INTERVAL_MS = 1000;

/** Exceptions: four-eyes creation, listing, and recording each expiry once. */
@Injectable()
export class ExceptionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(ExceptionService.name);
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(
    private readonly repo: ExceptionRepository,
    private readonly decisions: PolicyService,
    private readonly audit: AuditService,
  ) {}

  /** The caller approves; the requester is someone else (the DB refuses equality as well). */
  async create(by: Caller, input: ExceptionInput): Promise<ExceptionRecord> {
    if (input.requester === by.principal.id)
      throw new WardenError(
        'EXCEPTION_INVALID',
        `body.requester: ${input.requester} is also the approver (the caller); an exception must be approved by someone other than its requester`,
        { problems: ['body.requester: must differ from the approving caller'], approver: by.principal.id },
      );
    const rec = await this.repo.insert({ id: randomUUID(), ...input, approver: by.principal.id });
    this.decisions.invalidate();
    await this.audit.record({
      type: 'exception.created',
      principal: by.principal.id,
      source: by.source,
      subject: rec.id,
      payload: { ...view(rec) },
    });
    return rec;
  }

  list(opts: { live?: boolean } = {}): Promise<ExceptionRecord[]> {
    return this.repo.list(opts);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Records `exception.expired` for each newly expired exception; returns how many. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    const run = this.repo
      .sweepExpired(async (expired) => {
        for (const e of expired)
          // A stable id: if the transaction fails after this enqueue, the retry is the same event.
          await this.audit.enqueue({
            id: stableEventId('exception.expired', e.id),
            type: 'exception.expired',
            occurredAt: new Date().toISOString(),
            principal: 'system',
            source: { via: 'system' },
            subject: e.id,
            payload: { ...view(e) },
          });
      })
      .then((n) => {
        if (n > 0) this.decisions.invalidate();
        return n;
      })
      .catch((err: unknown) => {
        this.log.warn({ err }, 'exception expiry sweep failed; retrying on the next tick');
        return 0;
      })
      .finally(() => (this.sweeping = undefined));
    this.sweeping = run;
    return run;
  }
}

/** JSON-friendly view used in audit payloads and API answers. */
export function view(e: ExceptionRecord): Record<string, unknown> {
  return {
    id: e.id,
    rule: e.rule,
    principalId: e.principalId ?? null,
    team: e.team ?? null,
    image: e.image,
    requester: e.requester,
    approver: e.approver,
    ticket: e.ticket,
    expiresAt: e.expiresAt.toISOString(),
    createdAt: e.createdAt.toISOString(),
    expiredRecordedAt: e.expiredRecordedAt?.toISOString() ?? null,
  };
}
