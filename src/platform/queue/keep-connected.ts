import type { Logger } from '@nestjs/common';
import type { Queue, Worker } from 'bullmq';

type Client = Awaited<Queue['client']>;

/** What owns a connection: a queue or a worker (both say when they are closing). */
interface Owner {
  readonly name: string;
  readonly closing: Promise<void> | undefined;
}

/**
 * A connection whose connect fails outright ends for good: ioredis retries a lost connection,
 * but not a connect its connector rejected. Behind Sentinel that happens when a failover is
 * detected while the client is still asking the sentinels for the master (after a kill -9 of
 * the master, 3 runs in 8 left the audit queue answering "Connection is closed" for good).
 * An end nobody asked for (the owner is not closing, `stopping` is not set) is followed by a
 * new connect, 100 ms later; a connect that fails ends it again and comes back here.
 */
export function keepConnected(
  owner: Owner,
  client: Client,
  log: Pick<Logger, 'warn'>,
  stopping: () => boolean = () => false,
): void {
  const asked = () => stopping() || !!owner.closing;
  client.on('end', () => {
    if (asked()) return;
    setTimeout(() => {
      if (asked() || client.status !== 'end') return;
      log.warn(`${owner.name}: its Redis connection ended unasked; connecting again`);
      client.connect().catch(() => undefined);
    }, 100).unref();
  });
}

/**
 * The same for a worker's connection, the one its jobs are moved to active, completed and
 * failed on: ended, the worker fetches nothing for good. Its blocking connection (the wait for
 * the next job) BullMQ connects again itself when a wait fails on an ended client.
 */
export function keepWorkerConnected(worker: Worker, log: Pick<Logger, 'warn'>): void {
  void worker.client.then((c) => keepConnected(worker, c, log)).catch(() => undefined);
}
