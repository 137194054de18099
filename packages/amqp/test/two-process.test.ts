/**
 * Two processes: this one publishes through the RabbitMQ transport, a child
 * process consumes through its own Bus (on the built packages). The first
 * consumer is killed with SIGKILL midway; a second one takes over the
 * group; every message whose publish resolved arrives.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '@courier/core';
import { Collector, uniqueName } from '@courier/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, removeNamespace, testNamespace } from './rabbit.js';

const namespace = testNamespace('twoproc');
const script = fileURLToPath(new URL('./fixtures/consumer-process.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const children = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await removeNamespace(namespace);
}, 30_000);

/** Starts a consumer process; its numbers go to `seen`; resolves once it is attached. */
function consumer(subject: string, group: string, seen: Collector<number>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, RABBIT_URL, namespace, subject, group], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') resolve(child);
        else if (line !== '') seen.push(Number(line));
      }
    });
    child.on('exit', (code) => reject(new Error(`consumer process exited with ${code} before it was ready`)));
  });
}

describe('rabbitmq across two processes', () => {
  it('a child process consumes what this one published; a SIGKILLed consumer loses nothing', {
    timeout: 60_000,
  }, async () => {
    // The child runs the built packages, as a deployed service would: `npm test` builds first.
    if (!existsSync(built)) throw new Error(`${built} is missing; run npx tsc -b before this test`);
    const subject = `${uniqueName('two')}.events`;
    const group = 'child';
    const seen = new Collector<number>();
    const first = await consumer(subject, group, seen);
    const bus = await connect(await AmqpTransport.connect(new URL(RABBIT_URL), { namespace }), {
      service: 'two-process-producer',
    });
    try {
      const total = 2000;
      const confirmed: number[] = [];
      const publishing = (async () => {
        for (let n = 0; n < total; n += 50) {
          const batch = Array.from({ length: 50 }, (_, i) => n + i);
          await Promise.all(batch.map((m) => bus.publish(subject, m)));
          confirmed.push(...batch);
        }
      })();
      await seen.count(300, 20_000);
      first.kill('SIGKILL');
      await consumer(subject, group, seen);
      await publishing;
      await seen.until(
        (items) => {
          const got = new Set(items);
          return confirmed.every((n) => got.has(n));
        },
        30_000,
        'every confirmed message in the second process',
      );
      expect(confirmed).toHaveLength(total);
    } finally {
      await bus.close({ timeout: 2000 });
    }
  });
});
