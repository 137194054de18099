/**
 * The machine's shared NATS, RabbitMQ and Redis servers, as the shop's
 * engines: a URL that gives one test run a namespace of its own on each
 * (every service and the CLI connect with it, unchanged), and the cleanup
 * that removes that namespace afterwards.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
// The adapters' own test cleanups: the same namespaces, removed the same way.
import { RABBIT_URL, removeNamespace } from '../../../packages/amqp/test/rabbit.js';
import { deleteNamespace } from '../../../packages/redis/test/redis-server.js';

/** An engine for one test run: the URL to start the shop with, and how to clean up after it. */
export interface SharedEngine {
  name: string;
  url: string;
  remove(): Promise<void>;
}

/** NATS JetStream: a stream, subject prefix and request prefix of its own. */
export function natsEngine(): SharedEngine {
  const name = `shop_${randomBytes(4).toString('hex')}`;
  const stream = name.toUpperCase();
  return {
    name: 'nats',
    // Requests get a prefix outside the event stream's subjects (`<prefix>.>`), or the stream would capture them.
    url: `nats://127.0.0.1:4222?stream=${stream}&prefix=${name}&requestPrefix=${name}_rpc`,
    async remove() {
      const nc = await natsConnect({ servers: 'nats://127.0.0.1:4222' });
      try {
        const jsm = await jetstreamManager(nc);
        for (const suffix of ['', '_DLQ', '_REPLAY'])
          await jsm.streams.delete(`${stream}${suffix}`).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  };
}

/** RabbitMQ: a namespace of its own for every exchange and queue. */
export function rabbitEngine(): SharedEngine {
  const namespace = `shop-test.${randomBytes(4).toString('hex')}`;
  return {
    name: 'rabbitmq',
    url: `${RABBIT_URL}?namespace=${namespace}`,
    remove: () => removeNamespace(namespace),
  };
}

/** Redis: a key prefix of its own. */
export function redisEngine(): SharedEngine {
  const prefix = `shop-test-${randomBytes(4).toString('hex')}`;
  const url = 'redis://127.0.0.1:6379';
  return {
    name: 'redis',
    url: `${url}?prefix=${prefix}`,
    remove: () => deleteNamespace(url, prefix),
  };
}
