/**
 * The machine's shared NATS, RabbitMQ and Redis servers, as the shop's
 * engines: a URL that gives one test run a namespace of its own on each
 * (every service and the CLI connect with it, unchanged), and the cleanup
 * that removes that namespace afterwards.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { Redis } from 'ioredis';

const run = promisify(execFile);

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
  const base = 'amqp://guest:guest@127.0.0.1:5672';
  return {
    name: 'rabbitmq',
    url: `${base}?namespace=${namespace}`,
    async remove() {
      // Queues are found with rabbitmqctl (it needs the node's Erlang cookie); without it, only the exchanges go.
      const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name']).catch(
        (error: unknown) => {
          console.warn(`cannot list queues to remove namespace ${namespace}: ${String(error)}`);
          return { stdout: '' };
        },
      );
      const queues = stdout
        .split('\n')
        .map((line) => line.trim())
        .filter((queue) => queue.startsWith(`${namespace}.`));
      const connection = await amqp.connect(base);
      try {
        const channel = await connection.createChannel();
        for (const queue of queues) await channel.deleteQueue(queue);
        for (const exchange of [namespace, `${namespace}.rpc`, `${namespace}.wait`])
          await channel.deleteExchange(exchange);
        await channel.close();
      } finally {
        await connection.close();
      }
    },
  };
}

/** Redis: a key prefix of its own. */
export function redisEngine(): SharedEngine {
  const prefix = `shop-test-${randomBytes(4).toString('hex')}`;
  return {
    name: 'redis',
    url: `redis://127.0.0.1:6379?prefix=${prefix}`,
    async remove() {
      const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
