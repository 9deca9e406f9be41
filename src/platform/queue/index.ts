export { QueueModule } from './queue.module';
export { QueueName } from './queue-names';
export { parseRedisUrl, ioredisOptions } from './redis-endpoint';
export type { RedisEndpoint } from './redis-endpoint';
export { startEmbeddedRedis } from './embedded-redis';
