/**
 * Connection loss on the server side: `CLIENT KILL` drops every connection of
 * a subscriber's and a publisher's transport while messages flow. ioredis
 * reconnects, publishes in flight are sent again (the dedup key keeps them
 * once), the blocking reads resume, and no confirmed message is lost. An
 * unreachable server is reported to the onError given to connect().
 */
import { randomBytes } from 'node:crypto';
import { connect } from '@courier/core';
import { type RedisTransport, redisTransport } from '@courier/redis';
import { Collector, freePort } from '@courier/testkit';
import { Redis } from 'ioredis';
import { afterAll, expect, it, vi } from 'vitest';
import { deleteNamespace, startPrivateRedis } from './redis-server.js';

const url = process.env['COURIER_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `courier-test-${randomBytes(4).toString('hex')}`;
afterAll(() => deleteNamespace(url, prefix));

/** Kills, from another connection, every Redis connection the transport opened. */
async function killConnections(admin: Redis, transport: RedisTransport): Promise<number> {
  const list = (await admin.call('CLIENT', ['LIST', 'TYPE', 'normal'])) as string;
  const ids = list
    .split('\n')
    .filter((line) => new RegExp(` name=courier:${transport.connectionId}(:| )`).test(line))
    .map((line) => /(?:^| )id=(\d+)/.exec(line)?.[1] as string);
  for (const id of ids) await admin.call('CLIENT', ['KILL', 'ID', id]);
  return ids.length;
}

it('publishers and subscribers survive CLIENT KILL: every confirmed message arrives once', {
  timeout: 30_000,
}, async () => {
  const admin = new Redis(url);
  const errors: unknown[] = [];
  const consumerTransport = await redisTransport(url, { prefix, onError: (e) => errors.push(e) });
  const producerTransport = await redisTransport(url, { prefix, onError: (e) => errors.push(e) });
  await using consumer = await connect(consumerTransport, { onError: () => undefined });
  await using producer = await connect(producerTransport, { onError: () => undefined });
  const got = new Collector<number>();
  await consumer.subscribe<number>('loss.events', (n) => got.push(n), { group: 'g', concurrency: 16 }).ready;

  const confirmed: number[] = [];
  const sends: Array<Promise<unknown>> = [];
  for (let n = 0; n < 600; n++) {
    sends.push(producer.publish('loss.events', n).then(() => confirmed.push(n)));
    if (n === 300) {
      // Both ends lose every connection while publishes and reads are in flight.
      expect(await killConnections(admin, consumerTransport)).toBeGreaterThanOrEqual(2);
      expect(await killConnections(admin, producerTransport)).toBeGreaterThanOrEqual(1);
    }
    if (n % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.allSettled(sends);
  expect(confirmed.length).toBe(600);
  await got.until((items) => confirmed.every((n) => items.includes(n)), 20_000, 'every confirmed message');
  expect(new Set(got.items).size).toBe(got.items.length);

  // The subscriber keeps working after the reconnect.
  await producer.publish('loss.events', 1000);
  await got.until((items) => items.includes(1000), 5000, 'a message published after the reconnect');
  expect(await producer.request('loss.nobody', 1).catch((e: { code?: string }) => e.code)).toBe(
    'NO_RESPONDERS',
  );
  admin.disconnect();
});

it('a request handler survives CLIENT KILL and answers again', { timeout: 20_000 }, async () => {
  const admin = new Redis(url);
  const serverTransport = await redisTransport(url, { prefix, onError: () => undefined });
  await using server = await connect(serverTransport, { onError: () => undefined });
  await using caller = await connect(await redisTransport(url, { prefix }), { onError: () => undefined });
  await server.handle('loss.echo', (n: number) => n * 2).ready;
  expect(await caller.request('loss.echo', 1)).toBe(2);
  await killConnections(admin, serverTransport);
  expect(await caller.request('loss.echo', 21, { timeout: 5000 })).toBe(42);
  admin.disconnect();
});

it('declares durable on a server that fsyncs every write, and not on one without persistence', async () => {
  const server = await startPrivateRedis();
  try {
    const durable = await redisTransport(server.url);
    expect(durable.capabilities.durable).toBe(true);
    await durable.close();
  } finally {
    await server.close();
  }
  const shared = await redisTransport(url, { prefix });
  const admin = new Redis(url);
  const [, appendonly] = (await admin.call('CONFIG', ['GET', 'appendonly'])) as string[];
  admin.disconnect();
  if (appendonly === 'no') expect(shared.capabilities.durable).toBe(false);
  await shared.close();
});

it("connect(url) hands the bus's onError to the transport: an unreachable server rejects connect, never printed", async () => {
  const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const errors: unknown[] = [];
    const port = await freePort();
    await expect(
      connect(`redis://127.0.0.1:${port}`, { onError: (error) => errors.push(error) }),
    ).rejects.toThrow(/cannot connect to Redis at 127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    // The failure is connect's rejection only: onError is for errors no caller sees.
    expect(errors).toEqual([]);
    expect(printed).not.toHaveBeenCalled();
  } finally {
    printed.mockRestore();
  }
});
