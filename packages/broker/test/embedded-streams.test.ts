/**
 * Streams of the embedded engine as a user configures them: subjects routed
 * to the first matching stream (the rest to `default`), limits by age and
 * count that a group never sees past, `discard: 'new'` refusing publishes
 * with STREAM_FULL through the Bus, and interest / work-queue retention that
 * frees segments once groups acked.
 */
import { type Bus, CourierError, connect, type Delivery } from '@courier/core';
import { Collector, deferred, eventually, rawMessage } from '@courier/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerEngine, type BrokerEngineOptions, embeddedTransport } from '../src/index.js';
import { tempDir } from './helpers/temp-dir.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(options: Omit<BrokerEngineOptions, 'dir'>): Promise<{ engine: BrokerEngine; bus: Bus }> {
  const temp = await tempDir('courier-streams-');
  const engine = await BrokerEngine.open({ dir: temp.dir, ...options });
  const bus = await connect(embeddedTransport(engine), { service: 'streams-test' });
  cleanups.push(async () => {
    await bus.close();
    await engine.close();
    await temp.remove();
  });
  return { engine, bus };
}

/** Polls a condition on the engine's state until it holds, failing after `ms`. */
function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  return eventually(
    async () => {
      const value = await read();
      return done(value) ? value : undefined;
    },
    'a condition on the stream',
    ms,
  );
}

async function streamStats(engine: BrokerEngine, name: string) {
  const found = (await engine.stats()).streams.find((s) => s.name === name);
  if (!found) throw new Error(`no stream ${name}`);
  return found;
}

describe('embedded streams', () => {
  it('routes a subject to the first configured stream that matches, the rest to default', async () => {
    const { engine, bus } = await open({
      streams: [
        { name: 'orders', subjects: ['orders.>'] },
        { name: 'everything-else-orders', subjects: ['orders.created', 'audit.*'] },
      ],
    });
    await bus.publish('orders.created', { n: 1 });
    await bus.publish('audit.login', { n: 2 });
    await bus.publish('misc.thing', { n: 3 });
    const stats = await engine.stats();
    expect(stats.streams.map((s) => [s.name, s.messages])).toEqual([
      ['orders', 1],
      ['everything-else-orders', 1],
      ['default', 1],
    ]);
    expect(stats.stream.name).toBe('default');
    // A group on `>` reads every stream.
    const got = new Collector<unknown>();
    const sub = bus.subscribe('>', (data) => got.push(data), { group: 'all', deliver: 'all' });
    await sub.ready;
    const items = await got.count(3, 10_000);
    expect(items).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }, { n: 3 }]));
  });

  it('drops messages past maxAge, and a group created later never sees them', async () => {
    // Long enough that the last message is read by the group before it too expires, on a busy machine.
    const { engine, bus } = await open({ streams: [{ name: 'short', subjects: ['short.>'], maxAge: 1000 }] });
    for (let n = 0; n < 3; n++) await bus.publish('short.lived', { n, old: true });
    await until(
      () => streamStats(engine, 'short'),
      (s) => s.messages === 0,
    );
    const got = new Collector<unknown>();
    const sub = bus.subscribe('short.lived', (data) => got.push(data), { group: 'late', deliver: 'all' });
    await sub.ready;
    await bus.publish('short.lived', { n: 99, old: false });
    expect(await got.count(1, 10_000)).toEqual([{ n: 99, old: false }]);
  });

  it('keeps at most maxMessages, dropping the oldest; a group reading from the start gets only those kept', async () => {
    const { engine, bus } = await open({
      streams: [{ name: 'capped', subjects: ['capped.*'], maxMessages: 4 }],
    });
    for (let n = 0; n < 10; n++) await bus.publish('capped.x', { n });
    const stats = await until(
      () => streamStats(engine, 'capped'),
      (s) => s.messages <= 4,
    );
    expect(stats.firstSequence).toBe(7);
    const got = new Collector<{ n: number }>();
    const sub = bus.subscribe<{ n: number }>('capped.x', (data) => got.push(data), {
      group: 'reader',
      deliver: 'all',
    });
    await sub.ready;
    await got.until((items) => items.some((i) => i.n === 9), 10_000, 'the newest message');
    expect(got.items.map((i) => i.n)).toEqual([6, 7, 8, 9]);
  });

  it("refuses a publish past the limit with STREAM_FULL under discard: 'new'", async () => {
    const { bus } = await open({
      streams: [{ name: 'strict', subjects: ['strict.*'], maxMessages: 2, discard: 'new' }],
    });
    await bus.publish('strict.a', 1);
    await bus.publish('strict.a', 2);
    const refused = await bus.publish('strict.a', 3).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(CourierError);
    expect((refused as CourierError).code).toBe('STREAM_FULL');
    expect((refused as CourierError).message).toMatch(/stream strict is at its limit max_messages 2/);
    // Other streams are not affected.
    await bus.publish('elsewhere.a', 4);
  });

  it('interest retention frees the stream only once every durable group acked', async () => {
    const { engine, bus } = await open({
      streams: [{ name: 'jobs', subjects: ['jobs.*'], retention: 'interest' }],
    });
    const fast = new Collector<unknown>();
    const slow = new Collector<unknown>();
    const gate = deferred();
    const a = bus.subscribe('jobs.run', (data) => fast.push(data), { group: 'fast' });
    const b = bus.subscribe(
      'jobs.run',
      async (data) => {
        await gate.promise;
        slow.push(data);
      },
      { group: 'slow', concurrency: 8 },
    );
    await Promise.all([a.ready, b.ready]);
    for (let n = 0; n < 5; n++) await bus.publish('jobs.run', { n });
    await fast.count(5, 10_000);
    // Group `slow` has acked nothing: nothing may be released.
    expect((await streamStats(engine, 'jobs')).messages).toBe(5);
    gate.resolve();
    await slow.count(5, 10_000);
    const freed = await until(
      () => streamStats(engine, 'jobs'),
      (s) => s.messages === 0,
    );
    expect(freed.firstSequence).toBe(6);
  });

  it('work-queue retention frees a message once one group acked it', async () => {
    const { engine, bus } = await open({
      streams: [{ name: 'work', subjects: ['work.*'], retention: 'workqueue' }],
    });
    const done = new Collector<unknown>();
    const sub = bus.subscribe('work.item', (data) => done.push(data), { group: 'workers', concurrency: 4 });
    await sub.ready;
    for (let n = 0; n < 6; n++) await bus.publish('work.item', { n });
    await done.count(6, 10_000);
    await until(
      () => streamStats(engine, 'work'),
      (s) => s.messages === 0,
    );
  });

  it('regression: work-queue retention keeps what a detached group has not read when another group acks past it', async () => {
    const temp = await tempDir('courier-streams-wq-');
    cleanups.push(() => temp.remove());
    const streams: BrokerEngineOptions['streams'] = [
      { name: 'jobs', subjects: ['jobs.*'], retention: 'workqueue' },
    ];
    let engine = await BrokerEngine.open({ dir: temp.dir, streams });
    let bus = await connect(embeddedTransport(engine), { service: 'streams-test' });
    const b = bus.subscribe('jobs.b', () => undefined, { group: 'b' });
    await b.ready;
    await b.close();
    const a = new Collector<unknown>();
    await bus.subscribe('jobs.a', (data) => a.push(data), { group: 'a', concurrency: 8 }).ready;
    for (let n = 0; n < 40; n++) {
      await bus.publish('jobs.a', { n });
      await bus.publish('jobs.b', { n });
    }
    await a.count(40, 10_000);
    // More turns for the engine's release pass to run after a's acks.
    await bus.publish('jobs.a', { n: 40 });
    await a.count(41, 10_000);
    expect((await streamStats(engine, 'jobs')).messages).toBeGreaterThanOrEqual(40);
    await bus.close();
    await engine.close();
    // After a restart, b reads from disk what it never read.
    engine = await BrokerEngine.open({ dir: temp.dir, streams });
    bus = await connect(embeddedTransport(engine), { service: 'streams-test' });
    cleanups.push(async () => {
      await bus.close();
      await engine.close();
    });
    const got = new Collector<unknown>();
    await bus.subscribe('jobs.b', (data) => got.push(data), { group: 'b' }).ready;
    expect(await got.count(40, 10_000)).toHaveLength(40);
    await until(
      () => streamStats(engine, 'jobs'),
      (s) => s.messages === 0,
    );
  });

  it('regression: a close right after the last ack still stores the floor past records the group does not match', async () => {
    const temp = await tempDir('courier-streams-floor-');
    cleanups.push(() => temp.remove());
    const streams: BrokerEngineOptions['streams'] = [
      { name: 'jobs', subjects: ['jobs.*'], retention: 'workqueue' },
    ];
    const options = {
      subject: '',
      group: '',
      durable: true,
      deliver: 'all' as const,
      maxInFlight: 8,
      ackWait: 60_000,
    };
    let engine = await BrokerEngine.open({ dir: temp.dir, streams });
    let transport = embeddedTransport(engine);
    const b = await transport.consume({ ...options, subject: 'jobs.b', group: 'b' }, () => undefined);
    await b.close();
    const a = new Collector<Delivery>();
    await transport.consume({ ...options, subject: 'jobs.a', group: 'a' }, (d) => a.push(d));
    // a holds A1 and A2 and skips B1 between them: its floor can pass B1 only once A1 is acked.
    for (const subject of ['jobs.a', 'jobs.b', 'jobs.a']) await transport.publish(rawMessage(subject));
    const [a1, a2] = await a.count(2, 10_000);
    await a2?.ack();
    await a1?.ack();
    await engine.close(); // before the floor move that the last ack scheduled for the next turn
    engine = await BrokerEngine.open({ dir: temp.dir, streams });
    transport = embeddedTransport(engine);
    cleanups.push(() => engine.close());
    const got = new Collector<Delivery>();
    await transport.consume({ ...options, subject: 'jobs.b', group: 'b' }, (d) => got.push(d));
    const [b1] = await got.count(1, 10_000);
    await b1?.ack();
    // a never comes back; its stored floor must not hold B1 in the work queue.
    await until(
      () => streamStats(engine, 'jobs'),
      (stats) => stats.messages === 0,
    );
  });

  it('refuses a bad stream configuration with a message naming the field', async () => {
    const temp = await tempDir('courier-streams-bad-');
    cleanups.push(() => temp.remove());
    await expect(
      BrokerEngine.open({ dir: temp.dir, streams: [{ name: 'orders', subjects: [] }] }),
    ).rejects.toThrow(/stream orders: subjects is empty/);
    await expect(
      BrokerEngine.open({
        dir: temp.dir,
        streams: [{ name: 'orders', subjects: ['orders.>'], retention: 'forever' as 'limits' }],
      }),
    ).rejects.toThrow(/retention is "forever"; use 'limits', 'interest' or 'workqueue'/);
    await expect(
      BrokerEngine.open({ dir: temp.dir, streams: [{ name: '../up', subjects: ['a'] }] }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(
      BrokerEngine.open({ dir: temp.dir, streams: [{ name: 'a', subjects: ['a.>'], maxMessages: -1 }] }),
    ).rejects.toThrow(/maxMessages is -1/);
  });
});
