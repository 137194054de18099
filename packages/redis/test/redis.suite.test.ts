/**
 * The conformance suite on Redis: against the machine's shared server (no
 * persistence, so `durable` is declared false there), in a namespace of its
 * own that is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { type RedisTransport, redisTransport } from '@courier/redis';
import { runTransportSuite } from '@courier/testkit';
import { afterAll } from 'vitest';
import { deleteNamespace } from './redis-server.js';

const url = process.env['COURIER_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `courier-test-${randomBytes(4).toString('hex')}`;

afterAll(() => deleteNamespace(url, prefix));

runTransportSuite('redis', () => redisTransport(url, { prefix, onError: () => undefined }), {
  kill: (transport) => (transport as RedisTransport).kill(),
  skip: {
    'engine.restart':
      'the shared Redis on 6379 keeps no data and other tests use it, so it is never restarted; redis-durable.suite.test.ts runs this case on a private server',
  },
});
