import { Injectable } from '@nestjs/common';

/**
 * One lock per container id, in this process: a verb holds it for its whole transition
 * (check → act → guarded write), so verbs on one container run one after the other. The
 * process's own exit is not a verb and takes no lock: a verb that waits for an exit (stop,
 * kill, remove --force) would otherwise wait for itself.
 */
@Injectable()
export class ContainerLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of `id` is done; `waited` says whether there was one. */
  async run<T>(id: string, fn: (waited: boolean) => Promise<T>): Promise<T> {
    const before = this.tails.get(id);
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before ? before.then(() => mine) : mine;
    this.tails.set(id, tail);
    try {
      if (before) await before;
      return await fn(before !== undefined);
    } finally {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }

  held(id: string): boolean {
    return this.tails.has(id);
  }
}
