import type { IncomingMessage } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import { WardenError } from '../../platform/errors';
import { BlobFill, FillOutcome } from './blob-fill';
import type { BlobInfo, BlobReader, ByteRange } from '../../images';
import type { FsBlobStore } from '../../images';
import { sendFileRange } from './send-file-range';

/** Where a blob is read from: the store, or the fetch filling it right now. */
export type BlobSource = { kind: 'local'; info: BlobInfo } | { kind: 'fill'; fill: BlobFill };

export interface ProxyBlobStoreOptions {
  /** How long a fetch continues after its last reader left. */
  fillTimeoutMs: number;
  /** Told once per failed fetch (not once per waiting client), e.g. to audit a corrupt upstream. */
  onFillFailed?: (digest: string, error: Error) => void;
}

/**
 * The local store with a pull-through behind it: reads are served from the store when the
 * blob is there, else from the single fetch of that digest (started by the first miss,
 * joined by every later one until it is stored). Like distribution's proxy blob store it
 * answers the same read interface as the local store — but each blob is fetched once, and
 * nothing unverified reaches a client complete or the store at all.
 */
export class ProxyBlobStore {
  private readonly fills = new Map<string, BlobFill>();

  constructor(
    readonly local: FsBlobStore,
    private readonly opts: ProxyBlobStoreOptions,
  ) {}

  /** The store's copy if there is one, else the (one) running fetch, started with `fetch` if none runs. */
  async source(digest: string, fetch: () => Promise<IncomingMessage>): Promise<BlobSource> {
    for (;;) {
      const info = await this.local.stat(digest);
      if (info) return { kind: 'local', info };
      const running = this.fills.get(digest);
      // A fetch that just finished is still listed for a moment: look in the store again.
      if (running && running.settled) {
        if (running.error) this.fills.delete(digest);
        continue;
      }
      if (running) return { kind: 'fill', fill: running };
      const fill = new BlobFill(digest, this.local.path(digest), this.opts.fillTimeoutMs);
      this.fills.set(digest, fill);
      void fill.done.then((outcome: FillOutcome) => {
        if (this.fills.get(digest) === fill) this.fills.delete(digest);
        if (!outcome.ok) this.opts.onFillFailed?.(digest, outcome.error);
      });
      void fill.start(fetch);
      return { kind: 'fill', fill };
    }
  }

  /** Brings a blob into the store (for pulls by the runtime) and reports its size. */
  async ensure(digest: string, fetch: () => Promise<IncomingMessage>): Promise<BlobInfo> {
    const src = await this.source(digest, fetch);
    if (src.kind === 'local') return src.info;
    src.fill.attach();
    try {
      const outcome = await src.fill.done;
      if (!outcome.ok) throw outcome.error;
      return { digest, size: outcome.size };
    } finally {
      src.fill.detach();
    }
  }

  /**
   * Writes bytes [start, end] of a stored blob to `out` and ends it, with large reads into reused
   * buffers (a read stream's 64 KiB default halves loopback speed; its fresh buffers double the CPU).
   */
  sendLocal(
    info: BlobInfo,
    start: number,
    end: number,
    out: Writable,
  ): Promise<{ sent: number; complete: boolean }> {
    return sendFileRange(this.local.path(info.digest), start, end, out);
  }

  /** The same read interface as the local store, pulling through from one upstream repository. */
  reader(fetch: (digest: string) => Promise<IncomingMessage>): BlobReader {
    const stat = async (digest: string) => (await this.local.stat(digest)) ?? undefined;
    return {
      stat,
      has: async (digest) => (await stat(digest)) !== undefined,
      open: async (digest: string, range?: ByteRange) => {
        const src = await this.source(digest, () => fetch(digest));
        if (src.kind === 'local') return this.local.open(digest, range);
        const fill = src.fill;
        await fill.ready;
        const start = range?.start ?? 0;
        const end = range?.end ?? (fill.size ?? Number.MAX_SAFE_INTEGER) - 1;
        if (fill.size !== undefined && (start > end || end >= fill.size))
          throw new WardenError(
            'BLOB_RANGE_NOT_SATISFIABLE',
            `range ${start}-${end} is outside blob ${digest}`,
            {
              digest,
              size: fill.size,
            },
          );
        fill.attach();
        const stream = Readable.from(flatten(fill.read(start, end)), { objectMode: false });
        stream.once('close', () => fill.detach());
        return stream;
      },
    };
  }
}

async function* flatten(batches: AsyncIterable<Buffer[]>): AsyncGenerator<Buffer> {
  for await (const batch of batches) yield* batch;
}
