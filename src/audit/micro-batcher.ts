/**
 * Collects items and hands them to `flush` together, one flush at a time (group commit).
 * When idle, the first item waits at most `flushMs` for company, or until `size` are waiting;
 * while a flush runs, arrivals queue up and go in the next one, which starts as soon as the
 * previous settles. Under load a batch is whatever arrived during the last commit (up to
 * `size`), so batches grow with the rate instead of being cut every `flushMs`: each audit
 * commit takes the chain lock and waits for a WAL flush, so fewer, larger ones cost less per
 * event, and overlapping ones would only queue on the lock (bench/README.md, audit-ingest).
 *
 * Each `add` resolves or rejects with its batch, so a BullMQ job completes only once its row
 * is committed and is retried if the batch fails. `flush` may instead settle items one by
 * one, returning the failures by index.
 */
export class MicroBatcher<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    private readonly flush: (items: T[]) => Promise<ReadonlyMap<number, unknown> | void>,
    private readonly size: number,
    private readonly flushMs: number,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.flushing) return; // the next flush takes it when the running one settles
      if (this.pending.length >= this.size) this.run();
      else if (!this.timer) this.timer = setTimeout(() => this.run(), this.flushMs);
    });
  }

  private run(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.size);
    this.flushing = true;
    // flush is called synchronously: a throw before its first await rejects the batch, too.
    new Promise<ReadonlyMap<number, unknown> | void>((resolve) =>
      resolve(this.flush(batch.map((b) => b.item))),
    )
      .then(
        (failures) => batch.forEach((b, i) => (failures?.has(i) ? b.reject(failures.get(i)) : b.resolve())),
        (err) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        this.flushing = false;
        this.run();
      });
  }
}
