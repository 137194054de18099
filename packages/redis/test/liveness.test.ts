/**
 * Liveness is the connection's: a member whose connections are gone loses
 * its deliveries to the other members within seconds, long before its
 * ackWait; a member that only reconnected keeps them.
 */
import { randomBytes } from 'node:crypto';
import { connect } from '@courier/core';
import { type RedisTransport, redisTransport } from '@courier/redis';
import { Collector, deferred } from '@courier/testkit';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { deleteNamespace } from './redis-server.js';

const url = process.env['COURIER_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `courier-test-${randomBytes(4).toString('hex')}`;
afterAll(() => deleteNamespace(url, prefix));

const quiet = { prefix, onError: () => undefined };

it('a dead member’s delivery goes to another member long before its ackWait', {
  timeout: 40_000,
}, async () => {
  const doomed = await connect(await redisTransport(url, quiet), { onError: () => undefined });
  const held = deferred();
  await doomed.subscribe(
    'live.dead',
    () => {
      held.resolve();
      return new Promise(() => undefined);
    },
    { group: 'g', ackWait: '60s' },
  ).ready;
  await using producer = await connect(await redisTransport(url, quiet));
  await producer.publish('live.dead', 'precious');
  await held.promise;
  await using survivor = await connect(await redisTransport(url, quiet));
  const got = new Collector<number>();
  await survivor.subscribe('live.dead', (_d, ctx) => got.push(ctx.attempt), { group: 'g', ackWait: '60s' })
    .ready;
  (doomed.transport as RedisTransport).kill();
  // Taken over a few upkeep intervals after the kill; 20 s leaves room for a busy machine and is still
  // well inside the 60 s ackWait that would otherwise decide.
  expect(await got.count(1, 20_000)).toEqual([2]);
});

it('a member that only lost its connections and reconnected keeps its delivery', {
  timeout: 20_000,
}, async () => {
  const admin = new Redis(url);
  const transport = await redisTransport(url, quiet);
  await using holder = await connect(transport, { onError: () => undefined });
  const release = deferred();
  const started = new Collector<string>();
  const finished = new Collector<string>();
  await holder.subscribe(
    'live.reconnect',
    async (data: string) => {
      started.push(data);
      await release.promise;
      finished.push(data);
    },
    { group: 'g', ackWait: '60s' },
  ).ready;
  await using other = await connect(await redisTransport(url, quiet));
  await other.publish('live.reconnect', 'mine');
  await started.count(1, 5000);
  const stolen = new Collector<string>();
  await other.subscribe('live.reconnect', (data: string) => stolen.push(data), { group: 'g' }).ready;
  const list = String(await admin.client('LIST', 'TYPE', 'NORMAL'));
  for (const line of list.split('\n').filter((l) => l.includes(`name=courier:${transport.connectionId}`))) {
    await admin.client('KILL', 'ID', /(?:^| )id=(\d+)/.exec(line)?.[1] as string);
  }
  await new Promise((resolve) => setTimeout(resolve, 5000));
  expect(stolen.items).toEqual([]);
  release.resolve();
  await finished.count(1, 5000);
  admin.disconnect();
});
