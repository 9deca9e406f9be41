/**
 * Collects items until `size` are waiting or `flushMs` has passed since the first, then
 * hands them to `flush` together. Each `add` resolves or rejects with its batch, so a
 * BullMQ job completes only once its row is committed and is retried if the batch fails.
 * `flush` may instead settle items one by one, returning the failures by index.
 */
export class MicroBatcher<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flush: (items: T[]) => Promise<ReadonlyMap<number, unknown> | void>,
    private readonly size: number,
    private readonly flushMs: number,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.size) this.run();
      else if (!this.timer) this.timer = setTimeout(() => this.run(), this.flushMs);
    });
  }

  private run(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.flush(batch.map((b) => b.item)).then(
      (failures) => batch.forEach((b, i) => (failures?.has(i) ? b.reject(failures.get(i)) : b.resolve())),
      (err) => batch.forEach((b) => b.reject(err)),
    );
  }
}
