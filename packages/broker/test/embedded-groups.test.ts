/**
 * Groups of the embedded engine as a user relies on them: starting from a
 * sequence or a time, a read-ahead that delayed or key-blocked messages
 * cannot fill, server-side group settings (credit cap, max deliveries, a
 * backoff that holds back expired deliveries too), an
 * undecodable record dead-lettered with its reason, and `embedded://`
 * refusing a second open with other options.
 */
import { join } from 'node:path';
import { type Bus, connect, type Delivery } from '@courier/core';
import { Collector, deferred, eventually, rawMessage } from '@courier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerEngine,
  type BrokerEngineOptions,
  embeddedTransport,
  StreamLog,
  sharedEngine,
} from '../src/index.js';
import { tempDir } from './helpers/temp-dir.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(
  options: Omit<BrokerEngineOptions, 'dir'> = {},
): Promise<{ engine: BrokerEngine; bus: Bus; dir: string }> {
  const temp = await tempDir('courier-groups-');
  const engine = await BrokerEngine.open({ dir: temp.dir, ...options });
  const bus = await connect(embeddedTransport(engine), { service: 'groups-test' });
  cleanups.push(async () => {
    await bus.close();
    await engine.close();
    await temp.remove();
  });
  return { engine, bus, dir: temp.dir };
}

describe('embedded groups', () => {
  it('a new group starts at a stream sequence, or at the oldest held when the sequence is older', async () => {
    const { bus } = await open();
    for (let n = 1; n <= 5; n++) await bus.publish('seq.x', { n });
    const got = new Collector<{ n: number }>();
    const sub = bus.subscribe<{ n: number }>('seq.x', (d) => got.push(d), {
      group: 'from3',
      deliver: { sequence: 3 },
    });
    await sub.ready;
    await got.until((items) => items.some((i) => i.n === 5), 10_000);
    expect(got.items.map((i) => i.n)).toEqual([3, 4, 5]);
    // Resuming: an existing group ignores the policy and goes on where it was.
    await sub.close();
    await bus.publish('seq.x', { n: 6 });
    const again = bus.subscribe<{ n: number }>('seq.x', (d) => got.push(d), {
      group: 'from3',
      deliver: 'all',
    });
    await again.ready;
    await got.until((items) => items.some((i) => i.n === 6), 10_000);
    expect(got.items.map((i) => i.n)).toEqual([3, 4, 5, 6]);
  });

  it('a new group starts at the first message stored at or after a time', async () => {
    const { bus, engine } = await open();
    for (let n = 1; n <= 3; n++) await bus.publish('time.x', { n });
    const stored = (await engine.readStream('default', { from: 1, limit: 10 })) ?? [];
    const lastOld = Math.max(...stored.map((r) => r.time));
    // The log's clock has millisecond steps: wait for the next one so old and new cannot share it.
    while (Date.now() <= lastOld) await new Promise((resolve) => setImmediate(resolve));
    const since = new Date();
    for (let n = 4; n <= 5; n++) await bus.publish('time.x', { n });
    const got = new Collector<{ n: number }>();
    const sub = bus.subscribe<{ n: number }>('time.x', (d) => got.push(d), {
      group: 'since',
      deliver: { time: since },
    });
    await sub.ready;
    await got.until((items) => items.some((i) => i.n === 5), 10_000);
    expect(got.items.map((i) => i.n)).toEqual([4, 5]);
  });

  it('2000 messages delayed by an hour do not stall the group: an immediate one arrives at once', async () => {
    const { bus, engine } = await open();
    const got = new Collector<unknown>();
    const sub = bus.subscribe('later.x', (d) => got.push(d), { group: 'g', concurrency: 4 });
    await sub.ready;
    await Promise.all(Array.from({ length: 2000 }, (_, n) => bus.publish('later.x', { n }, { delay: '1h' })));
    await bus.publish('later.x', { now: true });
    expect(await got.count(1, 10_000)).toEqual([{ now: true }]);
    // The 2000 stay parked with the group (once the immediate one's ack is stored).
    const outstanding = async () => (await engine.stats()).groups.find((g) => g.group === 'g')?.outstanding;
    await eventually(async () => ((await outstanding()) === 2000 ? true : undefined), '2000 parked messages');
  });

  it('messages blocked behind their key do not fill the read-ahead: other keys still flow', async () => {
    const { bus } = await open();
    const gate = deferred();
    const got = new Collector<{ key: string; n: number }>();
    const sub = bus.subscribe<{ key: string; n: number }>(
      'keyed.x',
      async (d) => {
        if (d.key === 'stuck' && d.n === 0) await gate.promise;
        got.push(d);
      },
      { group: 'k', concurrency: 4 },
    );
    await sub.ready;
    await Promise.all(
      Array.from({ length: 1500 }, (_, n) => bus.publish('keyed.x', { key: 'stuck', n }, { key: 'stuck' })),
    );
    await bus.publish('keyed.x', { key: 'free', n: 0 }, { key: 'free' });
    await got.until((items) => items.some((i) => i.key === 'free'), 10_000, 'the free key');
    expect(got.items.filter((i) => i.key === 'stuck')).toEqual([]);
    gate.resolve();
    const all = await got.until((items) => items.length === 1501, 30_000, 'every message');
    const stuck = all.filter((i) => i.key === 'stuck').map((i) => i.n);
    expect(stuck).toEqual(Array.from({ length: 1500 }, (_, n) => n));
  });

  it('server-side group settings cap credit and dead-letter after maxDeliveries', async () => {
    const { bus } = await open({
      groups: [
        { group: 'capped', maxInFlight: 1 },
        { group: 'flaky', subject: 'flaky.x', maxDeliveries: 2 },
      ],
    });
    let running = 0;
    let most = 0;
    const done = new Collector<unknown>();
    const capped = bus.subscribe(
      'capped.x',
      async (d) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        done.push(d);
      },
      { group: 'capped', concurrency: 8 },
    );
    await capped.ready;
    await Promise.all(Array.from({ length: 6 }, (_, n) => bus.publish('capped.x', { n })));
    await done.count(6, 10_000);
    expect(most).toBe(1);

    let attempts = 0;
    const flaky = bus.subscribe(
      'flaky.x',
      () => {
        attempts++;
        throw new Error('always fails');
      },
      { group: 'flaky', retry: { attempts: 10, backoff: 'fixed', delay: 1 } },
    );
    await flaky.ready;
    await bus.publish('flaky.x', { id: 'f' });
    const dead = await eventually(async () => {
      const listed = await bus.deadLetters.list('flaky');
      return listed.length > 0 ? listed : undefined;
    }, 'the dead letter of flaky');
    expect(dead).toHaveLength(1);
    expect(attempts).toBe(2);
    expect(dead[0]?.error.message).toMatch(/maxDeliveries 2/);
  });

  it("the group's backoff also holds back a delivery whose ack wait ran out", async () => {
    const { engine } = await open({ groups: [{ group: 'slow', backoff: [400] }] });
    const transport = embeddedTransport(engine);
    const got = new Collector<{ delivery: Delivery; at: number }>();
    const consumer = await transport.consume(
      { subject: 'slow.x', group: 'slow', durable: true, deliver: 'new', maxInFlight: 1, ackWait: 100 },
      // A member that never settles nor touches, as a frozen process would.
      (delivery) => got.push({ delivery, at: performance.now() }),
    );
    await transport.publish(rawMessage('slow.x'));
    const [first, second] = await got.count(2, 10_000);
    expect(second?.delivery.attempt).toBe(2);
    // The ack wait (100 ms) and then the backoff (400 ms): never the ack wait alone.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(100 + 400 - 5);
    await second?.delivery.ack();
    await consumer.close();
    await transport.close();
  });

  it('the backoff does not hold back what a closed member held, nor the dead letter after the last delivery', async () => {
    const { engine, bus } = await open({
      groups: [
        { group: 'handover', backoff: [60_000] },
        { group: 'frozen', backoff: [60_000], maxDeliveries: 1 },
      ],
    });
    const transport = embeddedTransport(engine);
    const consume = (group: string, got: Collector<Delivery>, ackWait: number) =>
      transport.consume(
        { subject: `${group}.x`, group, durable: true, deliver: 'new', maxInFlight: 1, ackWait },
        (delivery) => got.push(delivery),
      );
    // A member closes holding a delivery: the next member gets it at once, not after a minute.
    const first = new Collector<Delivery>();
    const leaving = await consume('handover', first, 60_000);
    await transport.publish(rawMessage('handover.x'));
    await first.count(1, 10_000);
    const second = new Collector<Delivery>();
    await consume('handover', second, 60_000);
    await leaving.close();
    const [taken] = await second.count(1, 10_000);
    expect(taken?.attempt).toBe(2);
    await taken?.ack();
    // The only allowed delivery's ack wait runs out: dead-lettered at once, not after the backoff.
    const frozen = new Collector<Delivery>();
    await consume('frozen', frozen, 100);
    await transport.publish(rawMessage('frozen.x'));
    await frozen.count(1, 10_000);
    const dead = await eventually(async () => {
      const listed = await bus.deadLetters.list('frozen');
      return listed.length > 0 ? listed : undefined;
    }, 'the dead letter of frozen');
    expect(dead[0]?.error.message).toMatch(/maxDeliveries 1/);
    expect(frozen.items).toHaveLength(1);
    await transport.close();
  });

  it('dead-letters a record that does not decode, with the reason, and goes on delivering', async () => {
    const temp = await tempDir('courier-undecodable-');
    cleanups.push(() => temp.remove());
    let engine = await BrokerEngine.open({ dir: temp.dir });
    let bus = await connect(embeddedTransport(engine), { service: 't' });
    const first = bus.subscribe('bad.x', () => undefined, { group: 'reader' });
    await first.ready;
    await bus.close();
    await engine.close();
    // A record another version (or a damaged disk) left: valid framing, not a message.
    const log = await StreamLog.open({ dir: join(temp.dir, 'streams', 'default') });
    await log.append({ payload: Buffer.from('not a message at all') });
    await log.close();
    engine = await BrokerEngine.open({ dir: temp.dir });
    bus = await connect(embeddedTransport(engine), { service: 't' });
    cleanups.push(async () => {
      await bus.close();
      await engine.close();
    });
    const got = new Collector<unknown>();
    const sub = bus.subscribe('bad.x', (d) => got.push(d), { group: 'reader' });
    await sub.ready;
    await bus.publish('bad.x', { fine: true });
    expect(await got.count(1, 10_000)).toEqual([{ fine: true }]);
    // Storing the dead letter runs beside the delivery of the next message: wait for it.
    const dead = await eventually(async () => {
      const listed = await engine.deadLetters.list('reader');
      return listed.length > 0 ? listed : undefined;
    }, 'the dead letter of reader');
    expect(dead).toHaveLength(1);
    expect(dead[0]?.error.code).toBe('CODEC_ERROR');
    expect(dead[0]?.error.message).toMatch(/record 1 of stream default does not decode/);
    expect(Buffer.from(dead[0]?.message.payload ?? []).toString()).toBe('not a message at all');
  });

  it('embedded://: a second open of a directory with other options fails instead of sharing the first', async () => {
    const temp = await tempDir('courier-shared-');
    cleanups.push(() => temp.remove());
    const engine = await sharedEngine({ dir: temp.dir, maxPayload: 1024 * 1024 });
    cleanups.push(() => engine.close());
    await expect(sharedEngine({ dir: temp.dir, maxPayload: 1024 * 1024 })).resolves.toBe(engine);
    await expect(sharedEngine({ dir: temp.dir, maxPayload: 2 * 1024 * 1024 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringMatching(/already open in this process with other options/),
    });
    await expect(connect(`embedded://${temp.dir}`, { service: 'x' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await engine.close();
    // Closed: the next open is a fresh engine with the new options.
    const reopened = await sharedEngine({ dir: temp.dir, maxPayload: 2 * 1024 * 1024 });
    cleanups.push(() => reopened.close());
    expect(reopened.maxPayload).toBe(2 * 1024 * 1024);
  });
});
