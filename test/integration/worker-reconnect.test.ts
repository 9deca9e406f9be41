import { Logger } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { ioredisOptions, keepWorkerConnected, QUEUE_PREFIX, workerOptions } from '../../src/platform/queue';
import { freshRedis } from '../utils/services';

type Client = Awaited<Worker['client']>;

/**
 * A worker's Redis connections ended the way a failed connect ends them (issue 18): ioredis's
 * connector rejects (behind Sentinel, a failover seen while the client asks the sentinels for
 * the master), ioredis ends the connection and never retries it. Without keepWorkerConnected
 * the worker stops consuming for good; with it, it consumes again. Real Redis, real BullMQ.
 */
describe('a worker whose Redis connections ended after a failed connect', () => {
  let redis: Awaited<ReturnType<typeof freshRedis>>;
  let queue: Queue;
  const log = { warn: jest.fn() };

  beforeAll(async () => {
    redis = await freshRedis();
  });
  afterAll(async () => {
    await queue?.close();
    await redis?.stop();
  });

  /** Its next connect is refused by the connector, as Sentinel's is; then the socket drops. */
  const failNextConnect = async (client: Client) => {
    const connector = (client as unknown as { connector: { connect: (...a: unknown[]) => unknown } })
      .connector;
    const real = connector.connect.bind(connector);
    connector.connect = () => {
      connector.connect = real;
      return Promise.reject(new Error('failed to connect to the master (test)'));
    };
    // Ended (BullMQ connects its blocking client again itself; the other one it leaves ended).
    const ended = new Promise((r) => client.once('end', r));
    client.disconnect(true); // not a close asked for: ioredis reconnects, and the connect fails
    await ended;
  };

  const run = async (name: string, keep: boolean) => {
    queue = new Queue(name, { connection: ioredisOptions(redis.endpoint), prefix: QUEUE_PREFIX });
    const done: string[] = [];
    const worker = new Worker(
      name,
      async (job) => {
        done.push(job.id!);
      },
      workerOptions(redis.endpoint, { lockMs: 3000, stalledCheckMs: 1000 }),
    );
    worker.on('error', () => undefined);
    if (keep) keepWorkerConnected(worker, log as unknown as Logger);
    void worker.run();
    try {
      const blocking = await worker.waitUntilReady();
      await queue.add('j', {}, { jobId: 'before' });
      await waitFor(() => done.includes('before'), 10_000);
      await failNextConnect(await worker.client);
      await failNextConnect(blocking);
      await queue.add('j', {}, { jobId: 'after' });
      await waitFor(() => done.includes('after'), 8_000).catch(() => undefined);
      return done;
    } finally {
      await queue.close();
      // A worker whose connections ended for good cannot close cleanly: drop it.
      await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 2000))]);
      await worker.disconnect().catch(() => undefined);
    }
  };

  it('without keepWorkerConnected the worker never consumes again (what this guards against)', async () => {
    expect(await run('reconnect-control', false)).toEqual(['before']);
  });

  it('with it, its connection comes back and the worker consumes the next job', async () => {
    log.warn.mockClear();
    expect(await run('reconnect-kept', true)).toEqual(['before', 'after']);
    expect(log.warn).toHaveBeenCalledWith(expect.stringMatching(/ended unasked; connecting again/));
  });
});

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
