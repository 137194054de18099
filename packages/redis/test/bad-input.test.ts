/**
 * Bad input from the outside never stops a member nor crashes the process:
 * a stream entry another program wrote is dead-lettered at once with the
 * reason, and the messages after it are delivered; a malformed request in a
 * handler's inbox is dropped and reported.
 */
import { randomBytes } from 'node:crypto';
import { connect } from '@courier/core';
import { type RedisTransport, redisTransport } from '@courier/redis';
import { Collector } from '@courier/testkit';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { deleteNamespace } from './redis-server.js';

const url = process.env['COURIER_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `courier-test-${randomBytes(4).toString('hex')}`;
afterAll(() => deleteNamespace(url, prefix));

it('an entry that is not a Courier message goes to the dead letters; the member goes on', async () => {
  const admin = new Redis(url);
  await using bus = await connect(await redisTransport(url, { prefix }), { onError: () => undefined });
  const got = new Collector<unknown>();
  await bus.subscribe('bad.events', (data) => got.push(data), { group: 'g' }).ready;
  await admin.xadd(`{${prefix}}:s:bad.events`, '*', 'hello', 'world');
  await admin.xadd(`{${prefix}}:s:bad.events`, '*', 'i', 'x', 's', 'bad.events', 'm', '{"c":', 'p', '');
  await bus.publish('bad.events', 'fine');
  await got.until((items) => items.includes('fine'), 5000, 'the message after the bad entries');
  const deadline = Date.now() + 5000;
  let dead = await bus.deadLetters.list('g');
  while (dead.length < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    dead = await bus.deadLetters.list('g');
  }
  expect(dead.map((d) => d.error.code)).toEqual(['INVALID_MESSAGE', 'INVALID_MESSAGE']);
  expect(dead[0]?.error.message).toContain('field i is missing');
  expect(dead[1]?.error.message).toContain('field m is not JSON');
  admin.disconnect();
});

it('a malformed request in an inbox is reported, and the handler still answers', async () => {
  const admin = new Redis(url);
  const errors: unknown[] = [];
  const transport: RedisTransport = await redisTransport(url, { prefix, onError: (e) => errors.push(e) });
  await using server = await connect(transport);
  await using caller = await connect(await redisTransport(url, { prefix }));
  await server.handle('bad.rpc', (n: number) => n + 1).ready;
  await admin.rpush(`{${prefix}}:in:${transport.connectionId}`, 'no newline here', 'x\n\u0000\u0000');
  expect(await caller.request('bad.rpc', 1)).toBe(2);
  expect(errors.length).toBeGreaterThanOrEqual(2);
  admin.disconnect();
});
