/**
 * Kafka-specific behaviour on the mock cluster: a rebalance when a member
 * leaves or dies mid-stream loses nothing, and consumers and producers ride
 * out a broker outage.
 */
import { type Bus, connect } from '@courier/core';
import { Collector, uniqueName } from '@courier/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTransport, kafkaTransport } from '../src/index.js';
import { type MockCluster, startMockCluster, testTiming } from './mock-cluster.js';

let cluster: MockCluster;
const open: Bus[] = [];
beforeAll(async () => {
  cluster = await startMockCluster();
});
afterEach(async () => {
  for (const bus of open.splice(0)) await bus.close({ timeout: 1000 }).catch(() => undefined);
});
afterAll(async () => {
  await cluster?.stop();
});

async function bus(service: string): Promise<Bus> {
  const b = await connect(await kafkaTransport({ brokers: [cluster.bootstrap], ...testTiming }), {
    service,
    onError: () => undefined,
  });
  open.push(b);
  return b;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('kafka rebalance', () => {
  for (const how of ['leaves', 'dies'] as const) {
    it(`two members, one ${how} mid-stream: every message handled, none lost, duplicates only from the one that went`, {
      timeout: 60_000,
    }, async () => {
      const subject = `${uniqueName('r')}.events`;
      const group = uniqueName('g');
      const handled = new Collector<{ member: string; n: number }>();
      const members = new Map<string, Bus>();
      for (const name of ['stays', 'goes']) {
        const b = await bus(name);
        members.set(name, b);
        await b.subscribe<number>(
          subject,
          async (n) => {
            await new Promise((resolve) => setTimeout(resolve, 2));
            handled.push({ member: name, n });
          },
          { group, concurrency: 4 },
        ).ready;
      }
      const producer = await bus('producer');
      const total = 400;
      const sends = range(total).map((n) =>
        producer.publish(subject, n, n % 3 === 0 ? { key: `k${n % 7}` } : {}),
      );
      await handled.until(
        (items) => items.some((h) => h.member === 'goes') && items.length >= total / 4,
        20_000,
      );
      const goes = members.get('goes') as Bus;
      if (how === 'leaves') await goes.close();
      else await (goes.transport as KafkaTransport).kill();
      await Promise.all(sends);
      const all = await handled.until(
        (items) => new Set(items.map((h) => h.n)).size === total,
        30_000,
        'every message',
      );
      expect([...new Set(all.map((h) => h.n))].sort((a, b) => a - b)).toEqual(range(total));
      const counts = new Map<number, Array<string>>();
      for (const h of all) counts.set(h.n, [...(counts.get(h.n) ?? []), h.member]);
      const twice = [...counts].filter(([, by]) => by.length > 1);
      // At least once: a message the leaving member handled but whose commit had not landed may run again, once.
      for (const [, by] of twice) {
        expect(by).toHaveLength(2);
        expect(by[0]).toBe('goes');
      }
      if (how === 'leaves') expect(twice, 'a graceful leave commits what it handled').toEqual([]);
    });
  }

  it('a broker outage: publishes wait and resolve, consumers resume by themselves', {
    timeout: 60_000,
  }, async () => {
    const subject = `${uniqueName('o')}.events`;
    const seen = new Collector<number>();
    const consumer = await bus('consumer');
    await consumer.subscribe<number>(subject, (n) => seen.push(n), { group: uniqueName('g') }).ready;
    const producer = await bus('producer');
    await producer.publish(subject, 1);
    await seen.count(1, 10_000);
    await cluster.down();
    const during = producer.publish(subject, 2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await cluster.up();
    await during;
    await producer.publish(subject, 3);
    const all = await seen.until((items) => items.includes(3) && items.includes(2), 30_000);
    expect([...new Set(all)].sort()).toEqual([1, 2, 3]);
  });
});
