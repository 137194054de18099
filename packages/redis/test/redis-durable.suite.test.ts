/**
 * The conformance suite again on a private `redis-server` with the
 * append-only file fsynced on every write: the configuration in which the
 * transport declares `durable`, and where the suite may kill and restart the
 * server (the shared one on 6379 is never restarted).
 */

import { type RedisTransport, redisTransport } from '@courier/redis';
import { runTransportSuite } from '@courier/testkit';
import { afterAll, beforeAll } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from './redis-server.js';

let server: PrivateRedis;
beforeAll(async () => {
  server = await startPrivateRedis();
});
afterAll(() => server.close());

runTransportSuite(
  'redis (private server, appendfsync always)',
  () => redisTransport(server.url, { prefix: 'suite', onError: () => undefined }),
  {
    kill: (transport) => (transport as RedisTransport).kill(),
    restart: () => server.restart(),
  },
);
