export { QueueModule } from './queue.module';
export { QueueName } from './queue-names';
export { parseRedisUrl, ioredisOptions } from './redis-endpoint';
export type { RedisEndpoint } from './redis-endpoint';
export { startEmbeddedRedis } from './embedded-redis';
export { workerOptions, cappedExponentialBackoff, QUEUE_PREFIX, MAX_BACKOFF_MS } from './worker-options';
export type { WorkerTuning } from './worker-options';
export { enqueueWithin, ENQUEUE_TIMEOUT_MS } from './enqueue';
export { producerRedisOptions } from './redis-endpoint';
