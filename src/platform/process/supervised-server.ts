import type { Logger } from './child-process';

/** One run of a helper server: its pid, when it exits, and how to stop it. */
export interface ServerRun {
  pid: number;
  /** Resolves with the exit code or signal name once the process is gone. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

/** What /health says about an embedded server. */
export interface ServerState {
  name: string;
  up: boolean;
  pid?: number;
  /** How many times it was started again after dying. */
  restarts: number;
  /** Why it is down (its exit, or the last failed start), while it is down. */
  reason?: string;
  downSince?: string;
}

const FIRST_DELAY_MS = 200;
const MAX_DELAY_MS = 5_000;
/** A run that lasted this long was healthy: the next death restarts it at once again. */
const STABLE_MS = 30_000;

/**
 * Keeps a helper server (the embedded redis-server or PostgreSQL) running: when it exits
 * without being asked to, it is started again on the same address (clients reconnect to what
 * they know), after a backoff that doubles from 200 ms to 5 s while starts keep failing or
 * runs keep dying young. The first start is the caller's: if it fails, Warden does not boot.
 *
 *     start() ─► up ──exit──► down ──backoff──► start() ─► up …
 *                                    ▲    fails   │
 *                                    └────────────┘
 */
export class SupervisedServer {
  private run?: ServerRun;
  private stopping = false;
  private delay = FIRST_DELAY_MS;
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private readonly st: ServerState;
  private readonly waiters = new Set<() => void>();

  private constructor(
    name: string,
    private readonly spawn: () => Promise<ServerRun>,
    private readonly log: Logger,
  ) {
    this.st = { name, up: false, restarts: 0 };
  }

  static async start(name: string, spawn: () => Promise<ServerRun>, log: Logger): Promise<SupervisedServer> {
    const s = new SupervisedServer(name, spawn, log);
    s.adopt(await spawn());
    return s;
  }

  state(): ServerState {
    return { ...this.st };
  }

  get pid(): number | undefined {
    return this.run?.pid;
  }

  /** Resolves once the server is up again (at once if it is up); for tests and shutdown order. */
  whenUp(): Promise<void> {
    if (this.st.up) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** No more restarts; stops the running server, if any. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.run?.stop();
  }

  private adopt(run: ServerRun): void {
    this.run = run;
    this.startedAt = Date.now();
    Object.assign(this.st, { up: true, pid: run.pid, reason: undefined, downSince: undefined });
    for (const w of this.waiters) w();
    this.waiters.clear();
    void run.exited.then((how) => {
      if (this.stopping || this.run !== run) return;
      this.run = undefined;
      const reason = `${this.st.name} (pid ${run.pid}) exited (${how})`;
      Object.assign(this.st, { up: false, pid: undefined, reason, downSince: new Date().toISOString() });
      if (Date.now() - this.startedAt > STABLE_MS) this.delay = FIRST_DELAY_MS;
      this.log.error(`${reason}; starting it again in ${this.delay} ms`);
      this.schedule();
    });
  }

  private schedule(): void {
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.timer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      const run = await this.spawn();
      if (this.stopping) {
        await run.stop();
        return;
      }
      this.st.restarts += 1;
      this.log.warn(`${this.st.name} is back (pid ${run.pid}, restart ${this.st.restarts})`);
      this.adopt(run);
    } catch (err) {
      this.st.reason = `${this.st.name} did not start again: ${(err as Error).message}`;
      this.log.error(`${this.st.reason}; next try in ${this.delay} ms`);
      this.schedule();
    }
  }
}
