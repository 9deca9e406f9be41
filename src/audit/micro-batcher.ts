/**
 * Collects groups of items and hands them to `flush` together, one flush at a time (group
 * commit). When idle, the first group waits at most `flushMs` for company, or until `size`
 * items are waiting; while a flush runs, arrivals queue up and go in the next one, which
 * starts as soon as the previous settles. Under load a batch is whatever arrived during the
 * last commit (up to `size`), so batches grow with the rate instead of being cut every
 * `flushMs`: each audit commit takes the chain lock and waits for a WAL flush, so fewer,
 * larger ones cost less per event, and overlapping ones would only queue on the lock
 * (bench/README.md, audit-ingest).
 *
 * A group (the items of one job) is never split: a batch takes whole groups, in arrival order,
 * until it holds `size` items or more, so one job's items commit together and contiguously.
 *
 * `add` resolves with the failures of its own group (local index → error; empty when all were
 * stored), or rejects when the whole flush failed. `flush` may settle items one by one by
 * returning the failures by index in the batch.
 */
export class MicroBatcher<T> {
  private pending: Array<{
    items: T[];
    resolve: (failures: ReadonlyMap<number, unknown>) => void;
    reject: (e: unknown) => void;
  }> = [];
  private waiting = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    private readonly flush: (items: T[]) => Promise<ReadonlyMap<number, unknown> | void>,
    private readonly size: number,
    private readonly flushMs: number,
  ) {}

  add(items: T[]): Promise<ReadonlyMap<number, unknown>> {
    if (items.length === 0) return Promise.resolve(new Map());
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.waiting += items.length;
      if (this.flushing) return; // the next flush takes it when the running one settles
      if (this.waiting >= this.size) this.run();
      else if (!this.timer) this.timer = setTimeout(() => this.run(), this.flushMs);
    });
  }

  private run(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.pending.length === 0) return;
    let take = 0;
    let count = 0;
    while (take < this.pending.length && count < this.size) count += this.pending[take++].items.length;
    const groups = this.pending.splice(0, take);
    this.waiting -= count;
    const items = groups.length === 1 ? groups[0].items : groups.flatMap((g) => g.items);
    this.flushing = true;
    // flush is called synchronously: a throw before its first await rejects the batch, too.
    new Promise<ReadonlyMap<number, unknown> | void>((resolve) => resolve(this.flush(items)))
      .then(
        (failures) => {
          let at = 0;
          for (const g of groups) {
            const own = new Map<number, unknown>();
            if (failures?.size)
              for (let i = 0; i < g.items.length; i++)
                if (failures.has(at + i)) own.set(i, failures.get(at + i));
            at += g.items.length;
            g.resolve(own);
          }
        },
        (err) => groups.forEach((g) => g.reject(err)),
      )
      .finally(() => {
        this.flushing = false;
        this.run();
      });
  }
}
