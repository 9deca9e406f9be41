import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `<data dir>/run/heartbeat.json`: when this Warden was last known alive, on which boot of the
 * host, and whether it stopped cleanly. The next start reads it before writing its own, to
 * say how long the node went unwatched (the `service.down` audit event) and whether the host
 * rebooted meanwhile (then no process of the previous boot can still run).
 */
export interface HeartbeatRecord {
  at: string;
  bootId: string;
  pid: number;
  clean: boolean;
}

const INTERVAL_MS = 5_000;

export function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export class Heartbeat {
  private readonly file: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'run', 'heartbeat.json');
  }

  /** What the previous Warden on this data dir last wrote; undefined on a first start. */
  previous(): HeartbeatRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as HeartbeatRecord;
    } catch {
      return undefined;
    }
  }

  start(): void {
    this.beat(false);
    this.timer = setInterval(() => this.beat(false), INTERVAL_MS);
    this.timer.unref();
  }

  /** A clean stop: the last beat says so. */
  stop(): void {
    clearInterval(this.timer);
    if (this.timer) this.beat(true);
    this.timer = undefined;
  }

  private beat(clean: boolean): void {
    const record: HeartbeatRecord = {
      at: new Date().toISOString(),
      bootId: bootId(),
      pid: process.pid,
      clean,
    };
    const tmp = `${this.file}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify(record));
      fs.renameSync(tmp, this.file);
    } catch {
      /* a full disk costs the down span's precision, nothing else */
    }
  }
}
