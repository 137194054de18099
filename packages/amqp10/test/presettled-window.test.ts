/**
 * Regression: on a broker that sends deliveries pre-settled (the Proton
 * example broker), a member stopped after 2,048 messages, because rhea only
 * reopens a session's incoming window for deliveries settled on our side.
 */
import { connect } from '@courier/core';
import { Collector } from '@courier/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { amqp10Transport } from '../src/index.js';
import { type ProtonBroker, startProtonBroker } from './brokers.js';

let broker: ProtonBroker;
beforeAll(async () => {
  broker = await startProtonBroker();
});
afterAll(async () => {
  await broker?.stop();
});

it('a member on a pre-settling broker keeps receiving past 2,048 deliveries', async () => {
  const bus = await connect(await amqp10Transport({ port: broker.port, broker: 'queues' }), { service: 'w' });
  const seen = new Collector<number>();
  const sub = bus.subscribe('window.jobs', (n: number) => void seen.push(n), { group: 'g', concurrency: 50 });
  await sub.ready;
  const total = 2100;
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < total) await bus.publish('window.jobs', next++);
    }),
  );
  // A stopped member never gets there; a working one takes several seconds on a busy machine (8 s seen).
  const got = await seen.count(total, 45_000);
  expect(new Set(got).size).toBe(total);
  await bus.close();
}, 90_000);
