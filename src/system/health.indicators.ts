import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { QueueName } from '../platform/queue';
import { runDoctor } from '../runtime';

const RUNTIME_RECHECK_MS = 60_000;

@Injectable()
export class HealthIndicators {
  private runtime?: { at: number; result: Promise<{ ok: boolean; reasons: string[] }> };

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly ds: DataSource,
    @InjectQueue(QueueName.Audit) private readonly auditQueue: Queue,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async database() {
    const i = this.indicator.check('database');
    try {
      await this.ds.query('SELECT 1');
      return i.up();
    } catch (err) {
      return i.down({ message: (err as Error).message });
    }
  }

  async redis() {
    const i = this.indicator.check('redis');
    try {
      // A real round trip to Redis, and the number a reader of /health wants: audit events waiting.
      const waiting = await this.auditQueue.getWaitingCount();
      return i.up({ auditQueueWaiting: waiting });
    } catch (err) {
      return i.down({ message: (err as Error).message });
    }
  }

  /** The host probes take a second or two, so their verdict is kept for a minute. */
  async runtimeCapability() {
    const i = this.indicator.check('runtime');
    if (!this.runtime || Date.now() - this.runtime.at > RUNTIME_RECHECK_MS) {
      this.runtime = {
        at: Date.now(),
        result: runDoctor({ tmpDir: this.config.dataDir }).then((r) => ({
          ok: r.summary.canRunContainers,
          reasons: r.summary.reasons,
        })),
      };
    }
    const { ok, reasons } = await this.runtime.result;
    return ok ? i.up() : i.down({ reasons });
  }
}
