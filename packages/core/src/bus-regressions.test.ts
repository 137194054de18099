/** Regression tests, each named for what broke. */
import { describe, expect, it } from 'vitest';
import { Bus } from './bus.js';
import { connect } from './connect.js';
import { MemoryEngine } from './memory/memory-engine.js';
import { memoryTransport } from './memory/memory-transport.js';
import type { Delivery } from './transport.js';

function later<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('Bus regressions', () => {
  it('publishing and closing in the same tick does not redeliver in a loop', async () => {
    const engine = new MemoryEngine();
    const bus = new Bus(memoryTransport({ engine }));
    let calls = 0;
    await bus.subscribe(
      'race.close',
      () => {
        calls++;
      },
      { group: 'g' },
    ).ready;
    void bus.publish('race.close', 1);
    await bus.close();
    expect(calls).toBeLessThanOrEqual(1);
    // Whatever was not handled is still the group's.
    const again = new Bus(memoryTransport({ engine }));
    const got = later<unknown>();
    if (calls === 0) again.subscribe('race.close', (d) => got.resolve(d), { group: 'g' });
    else got.resolve(1);
    await expect(got.promise).resolves.toBe(1);
    await again.close();
  });

  it('a handler still draining may publish its follow-up event', async () => {
    await using bus = await connect('memory://drain-publish');
    await using mailer = await connect('memory://drain-publish');
    const release = later();
    const started = later();
    const followUp = later<unknown>();
    mailer.subscribe('invoice.created', (d) => followUp.resolve(d), { group: 'mail' });
    bus.subscribe(
      'card.charge',
      async () => {
        started.resolve();
        await release.promise;
        await bus.publish('invoice.created', 'inv-1');
      },
      { group: 'billing' },
    );
    await bus.publish('card.charge', 'c-1');
    await started.promise;
    const closing = bus.close();
    release.resolve();
    await closing;
    await expect(followUp.promise).resolves.toBe('inv-1');
  });

  it('a transport whose ack and touch throw synchronously is reported, not fatal', async () => {
    const transport = memoryTransport();
    const consume = transport.consume.bind(transport);
    transport.consume = (options, onDelivery) =>
      consume(options, (delivery: Delivery) =>
        onDelivery({
          ...delivery,
          ack: () => {
            throw new Error('channel closed');
          },
          touch: () => {
            throw new Error('channel closed');
          },
        }),
      );
    const errors: unknown[] = [];
    const bus = new Bus(transport, { onError: (e) => errors.push(e) });
    const handled = later();
    bus.subscribe(
      'sync.throw',
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 30)); // long enough for a touch at ackWait / 2
        handled.resolve();
      },
      { group: 'g', ackWait: 20 },
    );
    await bus.publish('sync.throw', 1);
    await handled.promise;
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.every((e) => (e as Error).message === 'channel closed')).toBe(true);
    await bus.close({ timeout: 100 });
  });

  it('a keyed delivery queued behind a slow one is kept alive and runs once, in order (key fill)', async () => {
    const engine = new MemoryEngine();
    const bus = new Bus(memoryTransport({ engine, without: ['keyOrdering'] }));
    const other = new Bus(memoryTransport({ engine, without: ['keyOrdering'] }));
    const log: string[] = [];
    const done = later();
    const handler = (name: string) => async (n: number) => {
      log.push(`${name} start ${n}`);
      if (n === 1) await new Promise((resolve) => setTimeout(resolve, 200)); // four ack-wait periods
      log.push(`${name} end ${n}`);
      if (n === 2) done.resolve();
    };
    await bus.subscribe('slow.key', handler('A'), { group: 'g', concurrency: 2, ackWait: 50 }).ready;
    await bus.publish('slow.key', 1, { key: 'k' });
    await bus.publish('slow.key', 2, { key: 'k' });
    await expect.poll(() => log.length).toBeGreaterThan(0);
    await other.subscribe('slow.key', handler('B'), { group: 'g', ackWait: 50 }).ready;
    await done.promise;
    expect(log).toEqual(['A start 1', 'A end 1', 'A start 2', 'A end 2']);
    await Promise.all([bus.close(), other.close()]);
  });

  it('a key whose message retention dropped in flight does not block the key forever', async () => {
    const engine = new MemoryEngine({ maxMessages: 5 });
    const bus = new Bus(memoryTransport({ engine }));
    const release = later();
    const seen: number[] = [];
    const second = later();
    await bus.subscribe(
      'trim.key',
      async (n: number) => {
        seen.push(n);
        if (n === 0) await release.promise;
        if (n === 100) second.resolve();
      },
      { group: 'g', concurrency: 4 },
    ).ready;
    await bus.publish('trim.key', 0, { key: 'k' });
    await expect.poll(() => seen).toEqual([0]);
    for (let i = 1; i <= 10; i++) await bus.publish('trim.other', i);
    await bus.publish('trim.key', 100, { key: 'k' });
    release.resolve();
    await second.promise;
    expect(seen).toEqual([0, 100]);
    await bus.close();
  });
});
