import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { findPackageFile } from '../platform/process';
import { NodeLiveness } from './node-liveness';
import { NodeRepository } from './node.repository';

/** Heartbeats per window: two may be lost (a GC pause, a slow Redis) before the node counts as down. */
const BEATS_PER_WINDOW = 3;

function packageVersion(): string {
  const file = findPackageFile('package.json');
  try {
    if (!file) return 'unknown';
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string };
    return String(pkg.version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/**
 * This node in the fleet: it registers once it serves (main.ts calls join after the API
 * listens, so recovery — the start-up reconcile of its containers — has run before it counts
 * as alive again), heartbeats in Redis every third of the window and records the beat in
 * PostgreSQL, and leaves on a clean stop.
 */
@Injectable()
export class NodeRegistry implements OnModuleDestroy {
  private readonly log = new Logger('fleet');
  private timer?: NodeJS.Timeout;
  private beating = false;

  constructor(
    private readonly repo: NodeRepository,
    private readonly liveness: NodeLiveness,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  async join(listeningOn?: string): Promise<void> {
    const startedAt = new Date();
    await this.repo.register({
      name: this.config.runtime.node,
      address: this.config.fleet.address ?? listeningOn ?? null,
      version: packageVersion(),
      cpus: os.cpus().length || 1,
      memoryBytes: os.totalmem(),
      startedAt,
    });
    const value = JSON.stringify({ pid: process.pid, startedAt: startedAt.toISOString() });
    // Redis down at this moment does not stop the start: the next beat (a third of the window
    // later) announces the node; until then other nodes count it down.
    await this.liveness
      .beat(value)
      .catch((err: Error) =>
        this.log.warn(`first heartbeat failed (${err.message}); retrying with the next`),
      );
    this.log.log(`node ${this.config.runtime.node} joined the fleet`);
    this.timer = setInterval(
      () => {
        if (this.beating) return;
        this.beating = true;
        Promise.all([this.liveness.beat(value), this.repo.touch(this.config.runtime.node)])
          .catch((err: Error) => this.log.warn(`heartbeat: ${err.message}`))
          .finally(() => (this.beating = false));
      },
      Math.max(100, Math.floor(this.config.fleet.heartbeatTimeoutMs / BEATS_PER_WINDOW)),
    );
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.liveness.leave().catch((err: Error) => this.log.warn(`leaving the fleet: ${err.message}`));
  }
}
