import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { INFRASTRUCTURE, Infrastructure } from '../platform/infrastructure';
import type { ServerState } from '../platform/process';
import { QueueName } from '../platform/queue';
import { runDoctor } from '../runtime';

const RUNTIME_RECHECK_MS = 60_000;
/**
 * A server that refuses (dead, restarting) fails its probe at once; this bounds one that hangs.
 * Past 800 ms, a loaded 2-core host (load average 15+) failed healthy probes.
 */
export const PROBE_TIMEOUT_MS = 2000;

function within<T>(what: string, p: Promise<T>, ms = PROBE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

@Injectable()
export class HealthIndicators {
  private runtime?: { at: number; result: Promise<{ ok: boolean; reasons: string[] }> };

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly ds: DataSource,
    @InjectQueue(QueueName.Audit) private readonly auditQueue: Queue,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    @Inject(INFRASTRUCTURE) private readonly infra: Infrastructure,
  ) {}

  /** The embedded server's supervision state (restarts, why it is down), when Warden runs it. */
  private supervision(name: string): Partial<ServerState> {
    const s = this.infra.servers().find((x) => x.name === name);
    if (!s) return { embedded: false } as Partial<ServerState>;
    const { up, pid, restarts, reason, downSince } = s;
    return { embedded: true, up, pid, restarts, reason, downSince } as Partial<ServerState>;
  }

  async database() {
    const i = this.indicator.check('database');
    const sup = this.supervision('postgres');
    try {
      await within('PostgreSQL', this.ds.query('SELECT 1'));
      return i.up({ restarts: sup.restarts });
    } catch (err) {
      return i.down({ message: `PostgreSQL is down: ${(err as Error).message}`, ...sup });
    }
  }

  async redis() {
    const i = this.indicator.check('redis');
    const sup = this.supervision('redis');
    try {
      // A real round trip to Redis, and the number a reader of /health wants: audit events waiting.
      const waiting = await within('Redis', this.auditQueue.getWaitingCount());
      return i.up({ auditQueueWaiting: waiting, restarts: sup.restarts });
    } catch (err) {
      return i.down({ message: `Redis is down: ${(err as Error).message}`, ...sup });
    }
  }

  /**
   * The host probes take a second or two, so their verdict is kept for a minute and then
   * renewed in the background: /health answers at once with the last verdict meanwhile.
   */
  async runtimeCapability() {
    const i = this.indicator.check('runtime');
    if (!this.runtime || Date.now() - this.runtime.at > RUNTIME_RECHECK_MS) {
      const next = runDoctor({ tmpDir: this.config.dataDir }).then((r) => ({
        ok: r.summary.canRunContainers,
        reasons: r.summary.reasons,
      }));
      const previous = this.runtime?.result;
      this.runtime = { at: Date.now(), result: previous ?? next };
      if (previous)
        void next.then((result) => (this.runtime = { at: Date.now(), result: Promise.resolve(result) }));
    }
    const { ok, reasons } = await this.runtime.result;
    return ok ? i.up() : i.down({ reasons });
  }
}
