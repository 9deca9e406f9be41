import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * A container's stdout/stderr as JSON lines, one object per chunk up to a newline:
 * `{"time": ISO-8601 with ns-free ms, "stream": "stdout"|"stderr", "log": text}` — the same
 * shape as Docker's json-file driver, so people and tools read it alike. Size-capped: past
 * `maxBytes` the file rotates to `.1`, `.2`, …, keeping `maxFiles` in all.
 */
export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  log: string;
}

export interface LogLimits {
  maxBytes: number;
  maxFiles: number;
}

export const DEFAULT_LOG_LIMITS: LogLimits = { maxBytes: 10 * 1024 * 1024, maxFiles: 3 };

export class ContainerLog {
  private readonly events = new EventEmitter();
  private fd: number | undefined;
  private size = 0;
  private closed = false;
  private pending = 0;
  private readonly drained: Array<() => void> = [];

  constructor(
    readonly path: string,
    private readonly limits: LogLimits = DEFAULT_LOG_LIMITS,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Copies a stream into the log until it ends; partial lines are kept until their newline or the end. */
  attach(stream: Readable, name: LogEntry['stream']): void {
    this.pending += 1;
    let carry = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const text = carry + chunk;
      const cut = text.lastIndexOf('\n');
      if (cut === -1) {
        carry = text;
        // A long line without a newline still reaches followers in bounded pieces.
        if (carry.length >= 16 * 1024) {
          this.write({ time: new Date().toISOString(), stream: name, log: carry });
          carry = '';
        }
        return;
      }
      carry = text.slice(cut + 1);
      for (const line of text.slice(0, cut + 1).split(/(?<=\n)/)) {
        this.write({ time: new Date().toISOString(), stream: name, log: line });
      }
    });
    const done = () => {
      if (carry) this.write({ time: new Date().toISOString(), stream: name, log: carry });
      carry = '';
      this.pending -= 1;
      if (this.pending === 0) this.drained.splice(0).forEach((f) => f());
    };
    stream.once('end', done);
    stream.once('error', done);
  }

  /** Resolves once every attached stream has ended and been written. */
  whenDrained(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.drained.push(r));
  }

  private write(e: LogEntry): void {
    if (this.closed) return;
    if (this.fd === undefined) {
      this.fd = fs.openSync(this.path, 'a', 0o640);
      this.size = fs.fstatSync(this.fd).size;
    }
    const line = `${JSON.stringify(e)}\n`;
    if (this.size > 0 && this.size + Buffer.byteLength(line) > this.limits.maxBytes) this.rotate();
    this.size += fs.writeSync(this.fd!, line);
    this.events.emit('entry', e);
  }

  private rotate(): void {
    fs.closeSync(this.fd!);
    for (let i = this.limits.maxFiles - 1; i >= 1; i--) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      if (fs.existsSync(from)) fs.renameSync(from, `${this.path}.${i}`);
    }
    if (this.limits.maxFiles <= 1) fs.rmSync(this.path, { force: true });
    this.fd = fs.openSync(this.path, 'a', 0o640);
    this.size = 0;
  }

  onEntry(fn: (e: LogEntry) => void): () => void {
    this.events.on('entry', fn);
    return () => this.events.off('entry', fn);
  }

  close(): void {
    this.closed = true;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.events.emit('closed');
    this.events.removeAllListeners('entry');
  }

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.events.once('closed', fn);
  }
}

export interface LogQuery {
  since?: Date;
  until?: Date;
  /** Last N entries (after since/until); undefined = all. */
  tail?: number;
  stdout?: boolean;
  stderr?: boolean;
}

/** Reads what is on disk, oldest rotated file first. */
export async function readLog(
  path: string,
  q: LogQuery,
  maxFiles = DEFAULT_LOG_LIMITS.maxFiles,
  /** Read the current file only up to this many bytes (a follower's cut: later entries reach it live). */
  currentBytes?: number,
): Promise<LogEntry[]> {
  const files = [
    ...Array.from({ length: maxFiles - 1 }, (_, i) => `${path}.${maxFiles - 1 - i}`),
    path,
  ].filter((f) => fs.existsSync(f));
  const out: LogEntry[] = [];
  for (const f of files) {
    if (f === path && currentBytes === 0) continue;
    const end = f === path && currentBytes !== undefined ? currentBytes - 1 : undefined;
    const input = fs.createReadStream(f, { encoding: 'utf8', end });
    const rl = readline.createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line) continue;
      let e: LogEntry;
      try {
        e = JSON.parse(line) as LogEntry;
      } catch {
        continue; // a line cut by a crash mid-write
      }
      if (matches(e, q)) out.push(e);
    }
  }
  return q.tail === undefined ? out : q.tail === 0 ? [] : out.slice(-q.tail);
}

export function matches(e: LogEntry, q: LogQuery): boolean {
  if (e.stream === 'stdout' && q.stdout === false) return false;
  if (e.stream === 'stderr' && q.stderr === false) return false;
  const t = Date.parse(e.time);
  if (q.since && t < q.since.getTime()) return false;
  if (q.until && t >= q.until.getTime()) return false;
  return true;
}
