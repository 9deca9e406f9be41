import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WardenError } from '../../platform/errors';
import { release, retain, SLAB_SIZE, takeSlab } from '../upstream/slabs';

/** Bytes a reader may not see until the whole blob verifies: enough that a bad blob is never complete. */
const HOLDBACK = 1;
/** Upstream bytes buffered in memory while the disk catches up, before the upstream is paused. */
const MAX_PENDING = 16 * 1024 * 1024;
/**
 * Upstream bytes kept in memory after they reached the disk, so a reader a little behind the
 * upstream (its socket was briefly full) still gets them without a file read.
 */
const WINDOW = 8 * 1024 * 1024;
/** Most bytes handed to a reader at once (one corked write of many upstream chunks). */
const MAX_BATCH = 4 * 1024 * 1024;

export type FillOutcome = { ok: true; size: number } | { ok: false; error: Error };

/**
 * One upstream fetch of one blob into the store, shared by every client that wants it meanwhile.
 *
 *   upstream ──▶ sha256 ──▶ pending ──▶ temp file ──(verified, fsync)──▶ rename to blobs/sha256/<hex>
 *                  │
 *                  └─▶ memory window (every chunk not yet on disk + the last WINDOW bytes)
 *                          │
 *   reader at pos ─────────┴─ pos inside the window: the upstream's own Buffers, no copy
 *                           └ pos before it (joined late, fell behind): read from the temp file
 *
 * Readers see at most all-but-the-last byte until the size and sha256 match, so a client can
 * never receive a complete copy of a corrupt blob: on a mismatch every reader's response is
 * aborted (a short body) and the temp file is removed. Verification needs only the hash, so
 * the last byte is released as soon as the upstream ends, whether or not the disk has caught
 * up; what the disk still lacks stays in the window. The fetch does not depend on any reader:
 * when the last one goes away it continues for `idleTimeoutMs`, then gives up.
 */
export class BlobFill {
  /** Total bytes, once the upstream said (Content-Length); undefined for a chunked answer. */
  size?: number;
  /** Bytes arrived from upstream (and hashed). */
  received = 0;
  /** Bytes in the temp file. */
  written = 0;
  verified = false;
  error?: Error;
  /** Resolves when the upstream's headers arrived (size known); rejects if the fetch failed before. */
  readonly ready: Promise<void>;
  /** Settles once the blob is in the store, or the fetch failed; never rejects. */
  readonly done: Promise<FillOutcome>;
  settled = false;

  private fh?: FileHandle;
  private tmp = '';
  private res?: IncomingMessage;
  private readonly hash = createHash('sha256');
  /** The memory window: chunks[i] holds the bytes from offsets[i]; entries before `head` are dropped. */
  private chunks: Buffer[] = [];
  private offsets: number[] = [];
  private head = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing = false;
  private writeError?: Error;
  private committing = false;
  private ended = false;
  private readers = 0;
  private idleTimer?: NodeJS.Timeout;
  private waiters: Array<() => void> = [];
  private wakeScheduled = false;
  private settle!: (o: FillOutcome) => void;
  private markReady!: (err?: Error) => void;

  constructor(
    readonly digest: string,
    private readonly finalPath: string,
    private readonly idleTimeoutMs: number,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => undefined);
  }

  /** Starts the fetch; `fetch` opens the upstream response (200, whole blob). */
  async start(fetch: () => Promise<IncomingMessage>): Promise<void> {
    try {
      const dir = dirname(this.finalPath);
      await mkdir(dir, { recursive: true });
      // '.tmp-' like the store's own temp files: its sweep and listing treat them alike.
      this.tmp = join(dir, `.tmp-proxy-${randomBytes(12).toString('hex')}`);
      this.fh = await open(this.tmp, 'wx+', 0o644);
      const res = await fetch();
      this.res = res;
      const length = Number(res.headers['content-length']);
      if (res.headers['content-length'] !== undefined && Number.isSafeInteger(length)) this.size = length;
      this.markReady();
      res.on('data', (chunk: Buffer) => this.onData(chunk));
      res.on('end', () => {
        this.ended = true;
        this.verify();
      });
      res.on('error', (err) => this.fail(err));
      res.on('close', () => {
        if (!this.ended) this.fail(new Error('upstream closed the connection mid-blob'));
      });
      if (this.readers === 0) this.armIdleTimer();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Bytes a reader may take now. */
  readable(): number {
    return this.verified ? this.received : Math.max(0, this.received - HOLDBACK);
  }

  /** A reader joins: the fetch will not be abandoned while it is attached. */
  attach(): void {
    this.readers++;
    clearTimeout(this.idleTimer);
  }

  detach(): void {
    this.readers--;
    if (this.readers === 0) {
      if (this.settled) void this.close();
      else this.armIdleTimer();
    }
  }

  /**
   * Reads [start, end] (inclusive) as it becomes readable, in batches meant for one corked
   * write each; throws if the fetch fails first. The Buffers are shared with other readers and
   * the file writer: consumers must not modify them. A consumer that can tell when it is done
   * with a batch (a socket's write callback) hands it to `release`, so its memory is reused.
   */
  async *read(start: number, end: number): AsyncGenerator<Buffer[]> {
    let pos = start;
    while (pos <= end) {
      while (!this.error && this.readable() <= pos && !(this.verified && pos >= this.received))
        await new Promise<void>((r) => this.waiters.push(r));
      if (this.error) throw this.error;
      if (pos >= this.received) return;
      const limit = Math.min(this.readable(), end + 1);
      const windowStart = this.windowStart();
      if (pos < windowStart) {
        // Behind the window, so on disk: everything not yet written is still in the window.
        // Into a pooled slab, like the upstream's bytes: its only reference is the batch's.
        const n = Math.min(SLAB_SIZE, windowStart - pos, limit - pos);
        const slab = takeSlab();
        const { bytesRead } = await this.fh!.read(slab, 0, n, pos).catch((err: Error) => {
          release(slab);
          throw err;
        });
        const piece = slab.subarray(0, bytesRead);
        retain(piece);
        release(slab);
        if (bytesRead === 0) throw new Error(`temp file of ${this.digest} ends at ${pos}`);
        pos += bytesRead;
        yield [piece];
        continue;
      }
      const batch: Buffer[] = [];
      for (let i = this.indexOf(pos), taken = 0; pos < limit && taken < MAX_BATCH; i++) {
        const chunk = this.chunks[i];
        const from = pos - this.offsets[i];
        const to = Math.min(chunk.length, limit - this.offsets[i]);
        const piece = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
        retain(piece);
        batch.push(piece);
        taken += to - from;
        pos += to - from;
      }
      yield batch;
    }
  }

  /** A batch from `read` is no longer needed (written out, or dropped). */
  release(batch: Buffer[]): void {
    for (const piece of batch) release(piece);
  }

  private windowStart(): number {
    return this.head < this.chunks.length ? this.offsets[this.head] : this.received;
  }

  /** The window entry holding `pos` (windowStart ≤ pos < received); readers are mostly near the end. */
  private indexOf(pos: number): number {
    let i = this.chunks.length - 1;
    while (i > this.head && this.offsets[i] > pos) i--;
    return i;
  }

  /** Takes over the reference the socket reader gave the chunk (slabs.ts); released by trim(). */
  private onData(chunk: Buffer): void {
    if (this.error) return release(chunk);
    this.hash.update(chunk);
    this.chunks.push(chunk);
    this.offsets.push(this.received);
    this.received += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > MAX_PENDING) this.res?.pause();
    if (!this.writing) void this.flush();
    this.trim();
    this.wake();
  }

  /** Drops window chunks that are on disk and older than the last WINDOW bytes. */
  private trim(): void {
    const keepFrom = Math.min(this.written, this.received - WINDOW);
    while (
      this.head < this.chunks.length &&
      this.offsets[this.head] + this.chunks[this.head].length <= keepFrom
    )
      release(this.chunks[this.head++]);
    if (this.head > 256) {
      this.chunks = this.chunks.slice(this.head);
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }

  /** Writes what has arrived in one writev per turn, so many small socket chunks cost few syscalls. */
  private async flush(): Promise<void> {
    if (this.writing || this.error || this.writeError) return;
    this.writing = true;
    try {
      while (this.pending.length && !this.error) {
        const bufs = this.pending;
        const bytes = this.pendingBytes;
        this.pending = [];
        this.pendingBytes = 0;
        this.res?.resume();
        let off = 0;
        while (off < bytes) {
          const { bytesWritten } = await this.fh!.writev(
            off === 0 ? bufs : [Buffer.concat(bufs).subarray(off)],
            this.written,
          );
          off += bytesWritten;
          this.written += bytesWritten;
        }
        this.trim();
      }
    } catch (err) {
      this.writeError = err as Error;
      // Before verification a failed write fails the fetch; after it, the readers still get
      // their bytes from the window, and only the copy is not kept.
      if (!this.verified) this.fail(err as Error);
      else void this.discard(err as Error);
    } finally {
      this.writing = false;
    }
    if (this.verified && !this.pending.length) void this.commit();
  }

  /** The upstream ended: all bytes are hashed, so the blob is verified (or not) here. */
  private verify(): void {
    if (this.error) return;
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (this.size !== undefined && this.received !== this.size)
      return this.fail(this.mismatch(`${this.received} bytes arrived, ${this.size} were announced`, actual));
    if (actual !== this.digest) return this.fail(this.mismatch(`the bytes hash to ${actual}`, actual));
    this.verified = true;
    this.size = this.received;
    this.wake();
    if (!this.writing && !this.pending.length) void this.commit();
  }

  private async commit(): Promise<void> {
    if (this.committing || this.writeError || this.settled) return;
    this.committing = true;
    try {
      // Released to readers first, made durable after: verification is what protects
      // clients; fsync + rename only decide whether the copy is kept.
      await this.fh!.sync();
      await rename(this.tmp, this.finalPath);
      const dh = await open(dirname(this.finalPath), 'r');
      await dh.sync().finally(() => dh.close());
      this.end({ ok: true, size: this.received });
    } catch (err) {
      await this.discard(err as Error);
    }
  }

  /** A verified blob that could not be kept: readers finish from the window and the open file. */
  private async discard(err: Error): Promise<void> {
    await rm(this.tmp, { force: true });
    this.end({ ok: false, error: err });
  }

  private mismatch(why: string, actual: string): WardenError {
    return new WardenError(
      'REGISTRY_UPSTREAM_FAILED',
      `blob ${this.digest} from upstream failed verification: ${why}; nothing was cached`,
      { digest: this.digest, actual, bytes: this.received, size: this.size, corrupt: true },
    );
  }

  private fail(err: Error): void {
    if (this.error || this.verified) return;
    this.error = err;
    this.res?.destroy();
    this.markReady(err);
    this.dropWindow();
    this.pending = [];
    this.pendingBytes = 0;
    this.wakeNow();
    void rm(this.tmp || '/nonexistent-warden-fill', { force: true }).finally(() =>
      this.end({ ok: false, error: err }),
    );
  }

  private end(outcome: FillOutcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.idleTimer);
    this.settle(outcome);
    if (this.readers === 0) void this.close();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(
      () => this.fail(new Error(`no client for ${this.idleTimeoutMs} ms; blob fetch abandoned`)),
      this.idleTimeoutMs,
    );
    this.idleTimer.unref();
  }

  /**
   * Readers wake once per event-loop turn, not once per upstream chunk: the socket delivers
   * many 64 KiB reads in one poll, and a reader that takes them together writes them to its
   * client in one writev.
   */
  private wake(): void {
    if (this.wakeScheduled || !this.waiters.length) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wakeNow();
    });
  }

  private wakeNow(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Gives up the window's references. A write still in flight may read a released piece: only
   * after a failure (its temp file is being removed) or once everything was written.
   */
  private dropWindow(): void {
    for (let i = this.head; i < this.chunks.length; i++) release(this.chunks[i]);
    this.chunks = [];
    this.offsets = [];
    this.head = 0;
  }

  private async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.dropWindow();
    await fh?.close().catch(() => undefined);
  }
}
