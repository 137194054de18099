/**
 * Deliver policies on the memory engine through the Bus: a new group starts
 * at a stream sequence (1-based, as on the broker) or at a time; a transport
 * without `replayFrom` refuses them with UNSUPPORTED naming the capability,
 * and a malformed policy is INVALID_OPTION.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import { memoryTransport } from './memory-transport.js';

function collector<T>(count: number): { items: T[]; push(item: T): void; done: Promise<T[]> } {
  const items: T[] = [];
  let resolve!: (items: T[]) => void;
  const done = new Promise<T[]>((r) => {
    resolve = r;
  });
  return {
    items,
    done,
    push(item) {
      items.push(item);
      if (items.length === count) resolve(items);
    },
  };
}

describe('memory deliver policies', () => {
  it('starts a new group at a sequence', async () => {
    await using bus = await connect(memoryTransport(), { service: 't' });
    for (let n = 1; n <= 5; n++) await bus.publish('m.x', { n });
    const got = collector<{ n: number }>(2);
    bus.subscribe<{ n: number }>('m.x', (d) => got.push(d), { group: 'g', deliver: { sequence: 4 } });
    expect((await got.done).map((d) => d.n)).toEqual([4, 5]);
  });

  it('starts a new group at a time', async () => {
    await using bus = await connect(memoryTransport(), { service: 't' });
    await bus.publish('m.t', { n: 1 });
    const before = Date.now();
    while (Date.now() <= before) await new Promise((resolve) => setImmediate(resolve));
    const since = Date.now();
    await bus.publish('m.t', { n: 2 });
    await bus.publish('m.t', { n: 3 });
    const got = collector<{ n: number }>(2);
    bus.subscribe<{ n: number }>('m.t', (d) => got.push(d), {
      group: 'g',
      deliver: { time: new Date(since) },
    });
    expect((await got.done).map((d) => d.n)).toEqual([2, 3]);
  });

  it('refuses sequence and time policies on a transport without replayFrom, naming it', async () => {
    await using bus = await connect(memoryTransport({ without: ['replayFrom'] }), { service: 't' });
    expect(() => bus.subscribe('m.x', () => undefined, { group: 'g', deliver: { sequence: 1 } })).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED',
        message: expect.stringMatching(/replayFrom capability/),
      }),
    );
  });

  it('refuses a malformed policy with INVALID_OPTION', async () => {
    await using bus = await connect(memoryTransport(), { service: 't' });
    expect(() => bus.subscribe('m.x', () => undefined, { deliver: { sequence: 0 } })).toThrow(
      /deliver.sequence must be a whole number of at least 1/,
    );
    expect(() => bus.subscribe('m.x', () => undefined, { deliver: { time: new Date('nope') } })).toThrow(
      /deliver.time must be a valid Date/,
    );
    expect(() => bus.subscribe('m.x', () => undefined, { deliver: 'oldest' as 'all' })).toThrow(
      /deliver is "oldest"; use 'new', 'all'/,
    );
  });
});
