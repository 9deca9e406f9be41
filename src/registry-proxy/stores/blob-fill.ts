import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WardenError } from '../../platform/errors';

/** Bytes a reader may not see until the whole blob verifies: enough that a bad blob is never complete. */
const HOLDBACK = 1;
/** Upstream bytes buffered in memory while the disk catches up, before the upstream is paused. */
const MAX_PENDING = 16 * 1024 * 1024;
/** Reads served to clients: big enough that per-chunk overhead vanishes against loopback speed. */
export const READ_CHUNK = 1024 * 1024;

export type FillOutcome = { ok: true; size: number } | { ok: false; error: Error };

/**
 * One upstream fetch of one blob into the store, shared by every client that wants it meanwhile.
 *
 *   upstream ──▶ hash + temp file ──▶ (verified) rename to blobs/sha256/<hex>
 *                      │
 *                      └─▶ each reader tails the temp file up to `readable()`
 *
 * Readers see at most all-but-the-last byte until the size and sha256 match, so a client can
 * never receive a complete copy of a corrupt blob: on a mismatch every reader's response is
 * aborted (a short body) and the temp file is removed. The fetch does not depend on any
 * reader: when the last one goes away it continues for `idleTimeoutMs`, then gives up.
 */
export class BlobFill {
  /** Total bytes, once the upstream said (Content-Length); undefined for a chunked answer. */
  size?: number;
  written = 0;
  verified = false;
  error?: Error;
  /** Resolves when the upstream's headers arrived (size known); rejects if the fetch failed before. */
  readonly ready: Promise<void>;
  /** Settles once the blob is in the store, or the fetch failed; never rejects. */
  readonly done: Promise<FillOutcome>;

  private fh?: FileHandle;
  private tmp = '';
  private res?: IncomingMessage;
  private readonly hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing = false;
  private ended = false;
  private readers = 0;
  private idleTimer?: NodeJS.Timeout;
  private waiters: Array<() => void> = [];
  private settle!: (o: FillOutcome) => void;
  private markReady!: (err?: Error) => void;
  settled = false;

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
        void this.flush();
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
    return this.verified ? this.written : Math.max(0, this.written - HOLDBACK);
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

  /** Reads [start, end] (inclusive) as it becomes readable; throws if the fetch fails first. */
  async *read(start: number, end: number): AsyncGenerator<Buffer> {
    let pos = start;
    while (pos <= end) {
      while (!this.error && this.readable() <= pos && !(this.verified && pos >= this.written))
        await new Promise<void>((r) => this.waiters.push(r));
      if (this.error) throw this.error;
      if (pos >= this.written) return;
      const n = Math.min(READ_CHUNK, this.readable() - pos, end + 1 - pos);
      const buf = Buffer.allocUnsafe(n);
      const { bytesRead } = await this.fh!.read(buf, 0, n, pos);
      pos += bytesRead;
      yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.error) return;
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > MAX_PENDING) this.res?.pause();
    if (!this.writing) void this.flush();
  }

  /** Writes what has arrived in one writev per turn, so many small socket chunks cost few syscalls. */
  private async flush(): Promise<void> {
    if (this.writing || this.error) return;
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
        this.wake();
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.writing = false;
    }
    if (this.ended && !this.pending.length && !this.error && !this.verified) await this.finish();
  }

  private async finish(): Promise<void> {
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (this.size !== undefined && this.written !== this.size)
      return this.fail(this.mismatch(`${this.written} bytes arrived, ${this.size} were announced`, actual));
    if (actual !== this.digest) return this.fail(this.mismatch(`the bytes hash to ${actual}`, actual));
    this.verified = true;
    this.size = this.written;
    this.wake();
    try {
      // Released to readers first, made durable after: verification is what protects
      // clients; fsync + rename only decide whether the copy is kept.
      await this.fh!.sync();
      await rename(this.tmp, this.finalPath);
      const dh = await open(dirname(this.finalPath), 'r');
      await dh.sync().finally(() => dh.close());
      this.end({ ok: true, size: this.written });
    } catch (err) {
      await rm(this.tmp, { force: true });
      this.end({ ok: false, error: err as Error });
    }
  }

  private mismatch(why: string, actual: string): WardenError {
    return new WardenError(
      'REGISTRY_UPSTREAM_FAILED',
      `blob ${this.digest} from upstream failed verification: ${why}; nothing was cached`,
      { digest: this.digest, actual, bytes: this.written, size: this.size, corrupt: true },
    );
  }

  private fail(err: Error): void {
    if (this.error || this.verified) return;
    this.error = err;
    this.res?.destroy();
    this.markReady(err);
    this.wake();
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

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }
}
