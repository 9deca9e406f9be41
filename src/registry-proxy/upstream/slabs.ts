/*
 * Reusable slabs for blob bodies read off the socket (socket-request.ts).
 *
 * Fresh memory per read is what made a cold pull slow inside Warden: every new Buffer is
 * external memory to V8, and ~100 MB of it per 100 MiB blob triggered 4–5 full mark-compacts
 * of Warden's heap (6–40 ms pauses each, `--trace-gc`: "external memory pressure"), besides
 * the kernel faulting in and zeroing every new page. A slab is reused once nothing holds a
 * piece of it any more, which the holders say by reference counts:
 *
 *   socket-request   takeSlab() → 1 ref while reads land in it; retain(piece) for each piece it pushes
 *   BlobFill         owns the pushed piece's ref; release() when the piece leaves its window
 *   readers          retain() each piece of a batch; release() from the socket's write callback
 *
 * Whoever takes a piece without ever releasing it (a body that is only discarded, a stream
 * consumer that cannot say when it is done) keeps its slab out of the pool: the slab is then
 * ordinary garbage, never reused under someone still reading it. Releasing too early is the
 * only way to go wrong, so a release is only ever done by a holder of a ref it took.
 */

export const SLAB_SIZE = 4 * 1024 * 1024;
/**
 * Slabs kept for reuse. A 100 MiB fill at loopback speed has up to ~12 in use at once (window,
 * writes pending to disk, client sockets' queues); fewer would allocate afresh on every pull.
 */
const POOL_MAX = 16;
/** An idle pool is emptied: the memory is only worth keeping while pulls are running. */
const IDLE_MS = 30_000;

const refs = new WeakMap<ArrayBufferLike, number>();
let free: Buffer[] = [];
let lastTake = 0;
let idleTimer: NodeJS.Timeout | undefined;

/** A slab with one reference (its filler's). */
export function takeSlab(): Buffer {
  lastTake = Date.now();
  const slab = free.pop() ?? Buffer.allocUnsafeSlow(SLAB_SIZE);
  refs.set(slab.buffer, 1);
  return slab;
}

/** One more holder of the slab `piece` lies in; pieces of other memory are ignored. */
export function retain(piece: Buffer): void {
  const n = refs.get(piece.buffer);
  if (n !== undefined) refs.set(piece.buffer, n + 1);
}

/** A holder is done with `piece`: the last one returns the slab to the pool. */
export function release(piece: Buffer): void {
  const n = refs.get(piece.buffer);
  if (n === undefined) return;
  if (n > 1) {
    refs.set(piece.buffer, n - 1);
    return;
  }
  refs.delete(piece.buffer);
  if (free.length >= POOL_MAX) return;
  free.push(Buffer.from(piece.buffer, 0, SLAB_SIZE));
  idleTimer ??= setTimeout(dropIdle, IDLE_MS).unref();
}

function dropIdle(): void {
  idleTimer = undefined;
  if (Date.now() - lastTake >= IDLE_MS) free = [];
  else if (free.length) idleTimer = setTimeout(dropIdle, IDLE_MS).unref();
}
