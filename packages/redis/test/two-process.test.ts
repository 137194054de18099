/**
 * Two processes: a child publishes through the built @courier/redis, this
 * process consumes through its own Bus; every publish the child saw
 * confirmed arrives here. Needs `tsc -b` first (`npm test` builds).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect } from '@courier/core';
import { redisTransport } from '@courier/redis';
import { Collector } from '@courier/testkit';
import { afterAll, expect, it } from 'vitest';
import { deleteNamespace } from './redis-server.js';

const url = process.env['COURIER_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `courier-test-${randomBytes(4).toString('hex')}`;
afterAll(() => deleteNamespace(url, prefix));

it('every message a second process saw confirmed arrives in this process', { timeout: 30_000 }, async () => {
  await using bus = await connect(await redisTransport(url, { prefix }), { service: 'consumer-process' });
  const got = new Collector<string>();
  await bus.subscribe('orders.created', (_data, ctx) => got.push(ctx.id), {
    group: 'billing',
    concurrency: 8,
  }).ready;
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('./fixtures/publisher.mjs', import.meta.url)),
      url,
      prefix,
      'orders.created',
      '500',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(0);
  const confirmed = out.split('\n').filter((line) => line !== '');
  expect(confirmed).toHaveLength(500);
  await got.until((ids) => confirmed.every((id) => ids.includes(id)), 15_000, 'every confirmed id');
  expect(new Set(got.items).size).toBe(got.items.length);
});
