export { QueueModule } from './queue.module';
export { QueueName } from './queue-names';
export { parseRedisUrl, ioredisOptions, SENTINEL_SCHEMES } from './redis-endpoint';
export { ReplicaWait } from './replica-wait';
export type { RedisEndpoint } from './redis-endpoint';
export { startEmbeddedRedis } from './embedded-redis';
export {
  workerOptions,
  closeWorker,
  cappedExponentialBackoff,
  QUEUE_PREFIX,
  MAX_BACKOFF_MS,
} from './worker-options';
export type { WorkerTuning } from './worker-options';
export { enqueueWithin, ENQUEUE_TIMEOUT_MS } from './enqueue';
export { producerRedisOptions } from './redis-endpoint';
export { ChangeBus, CHANGE_CHANNEL } from './change-bus';
export { keepWorkerConnected } from './keep-connected';
export type { ChangeTopic } from './change-bus';
