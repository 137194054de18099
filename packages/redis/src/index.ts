/**
 * @courier/redis: the Redis Streams transport for Courier (`redis://`,
 * `rediss://`), on ioredis. `connect('redis://localhost:6379')` loads it.
 */

export type { RedisTransportOptions } from './options.js';
export { createTransport, RedisTransport, redisTransport } from './redis-transport.js';
