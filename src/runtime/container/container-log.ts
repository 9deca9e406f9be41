import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import * as nodePath from 'node:path';

/**
 * A container's stdout/stderr as JSON lines, one object per line of output (a longer line is
 * cut at 16 KiB): `{"log": text, "stream": "stdout"|"stderr", "time": RFC 3339 with ns}` —
 * Docker's json-file format. The shim writes it (native/shim/monitor.c), so output is kept
 * while Warden is down; size-capped: past the container's max-size the file rotates to `.1`,
 * `.2`, …, keeping max-file in all (`--log-opt`, else the policy's or Warden's default).
 */
export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  log: string;
}

const NEWLINE = 0x0a;

/** The size of the log now (0 when it does not exist yet): where a new run's output begins. */
export function logSize(path: string): number {
  try {
    return fs.statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Follows the log the shim writes, for attach and `logs -f`: new entries are read when the
 * directory says the file changed, and at once whenever a caller needs to be up to date
 * (`position`, `whenDrained`). A rotation (the path now names a new file) is followed after
 * the old file is read to its end.
 */
export class ContainerLog {
  private readonly events = new EventEmitter();
  private fd: number | undefined;
  private ino = 0;
  private pos: number;
  private partial: Buffer = Buffer.alloc(0);
  private closed = false;
  private watcher: fs.FSWatcher | undefined;

  constructor(
    readonly path: string,
    /** Where this run's output begins in the current file. */
    startAt = 0,
  ) {
    this.events.setMaxListeners(0);
    this.pos = startAt;
    const base = nodePath.basename(path);
    try {
      this.watcher = fs.watch(nodePath.dirname(path), (_event, name) => {
        if (!name || name.startsWith(base)) this.catchUp();
      });
      this.watcher.on('error', () => undefined); // the dir went with the container
    } catch {
      /* no dir: nothing to follow */
    }
    // Not now: whoever made this subscribes in this tick, and must see the first entry.
    setImmediate(() => this.catchUp());
  }

  /** Reads every complete line written so far; emits each entry. Synchronous. */
  private catchUp(): void {
    if (this.closed) return;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      if (this.fd === undefined) {
        try {
          this.fd = fs.openSync(this.path, 'r');
          this.ino = fs.fstatSync(this.fd).ino;
        } catch {
          return; // not written yet
        }
      }
      let n: number;
      while ((n = fs.readSync(this.fd, buf, 0, buf.length, this.pos)) > 0) {
        this.pos += n;
        this.emitLines(buf.subarray(0, n));
      }
      let now: number | undefined;
      try {
        now = fs.statSync(this.path).ino;
      } catch {
        now = undefined;
      }
      if (now === undefined || now === this.ino) return;
      fs.closeSync(this.fd); // rotated: the old file is read to its end, the new one from 0
      this.fd = undefined;
      this.pos = 0;
      this.partial = Buffer.alloc(0);
    }
  }

  private emitLines(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let nl: number;
    while ((nl = data.indexOf(NEWLINE)) >= 0) {
      const line = data.subarray(0, nl).toString('utf8');
      data = data.subarray(nl + 1);
      try {
        this.events.emit('entry', JSON.parse(line) as LogEntry);
      } catch {
        /* a line cut by a crash mid-write */
      }
    }
    this.partial = Buffer.from(data);
  }

  /**
   * Bytes of the current file already delivered to listeners (after catching up): a follower
   * reads the disk up to here and takes everything later from `onEntry`, subscribed in the same
   * tick, so no entry is missed or sent twice.
   */
  position(): number {
    this.catchUp();
    return this.fd === undefined ? 0 : this.pos - this.partial.length;
  }

  /** Resolves once everything the shim has written is delivered (it writes all before EXIT). */
  whenDrained(): Promise<void> {
    this.catchUp();
    return Promise.resolve();
  }

  onEntry(fn: (e: LogEntry) => void): () => void {
    this.events.on('entry', fn);
    return () => this.events.off('entry', fn);
  }

  close(): void {
    this.catchUp();
    this.closed = true;
    this.watcher?.close();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.events.emit('closed');
    this.events.removeAllListeners('entry');
  }

  /** `fn` when the log closes (at once if it has); the returned function unsubscribes. */
  onClosed(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => undefined;
    }
    this.events.once('closed', fn);
    return () => this.events.off('closed', fn);
  }

  /** Who is listening: followers and attach sessions each hold one of either while their client is there. */
  listeners(): { entry: number; closed: number } {
    return { entry: this.events.listenerCount('entry'), closed: this.events.listenerCount('closed') };
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

/** Rotated files go up to `.99` (the shim keeps at most 100). */
const MAX_ROTATED = 99;

/**
 * The log's files, oldest first: `log.jsonl.N` … `log.jsonl.1`, then `log.jsonl`. Found on
 * disk rather than from the container's max-file, so a log written under other limits (or
 * before a restart of Warden) reads whole.
 */
function openLogFiles(path: string): number[] {
  const fds: number[] = [];
  const open = (f: string) => {
    try {
      fds.push(fs.openSync(f, 'r'));
      return true;
    } catch {
      return false;
    }
  };
  // Newest first so a rotation under way loses nothing: what was `.1` when it was opened
  // keeps its content under whatever name it gets next.
  open(path);
  for (let i = 1; i <= MAX_ROTATED && open(`${path}.${i}`); i++);
  return fds.reverse();
}

/**
 * Reads what is on disk, oldest rotated file first. Every file is opened before the first
 * await, so a follower that took the live log's position in the same tick reads exactly the
 * files as they were then, even if the shim rotates meanwhile (a rename leaves an open file
 * as it is).
 */
export async function readLog(
  path: string,
  q: LogQuery,
  /** Read the current file only up to this many bytes (a follower's cut: later entries reach it live). */
  currentBytes?: number,
): Promise<LogEntry[]> {
  const fds = openLogFiles(path);
  const current = fds[fds.length - 1];
  const out: LogEntry[] = [];
  for (const fd of fds) {
    if (fd === current && currentBytes === 0) {
      fs.closeSync(fd);
      continue;
    }
    const end = fd === current && currentBytes !== undefined ? currentBytes - 1 : undefined;
    const input = fs.createReadStream('', { fd, encoding: 'utf8', start: 0, end, autoClose: true });
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
  // Docker's bound: an entry at `until` is still in (daemon/logger: Timestamp.After(Until)).
  if (q.until && t > q.until.getTime()) return false;
  return true;
}
