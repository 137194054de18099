import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Bus } from './bus.js';
import { textCodec } from './codec.js';
import { connect } from './connect.js';
import { event, rpc } from './contract.js';
import { CourierError } from './errors.js';
import { MemoryEngine } from './memory/memory-engine.js';
import { memoryTransport } from './memory/memory-transport.js';

function pair(engine = new MemoryEngine()) {
  return {
    engine,
    bus: (options: ConstructorParameters<typeof Bus>[1] = {}) =>
      new Bus(memoryTransport({ engine }), options),
  };
}

function nextValue<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const Order = event('orders.created', z.object({ id: z.string(), total: z.number() }));
const Reserve = rpc('inventory.reserve', {
  request: z.object({ sku: z.string() }),
  response: z.object({ ok: z.boolean() }),
});

describe('Bus', () => {
  it('rejects data that fails the contract with INVALID_MESSAGE listing the issues, and sends nothing', async () => {
    await using bus = await connect('memory://');
    const seen: unknown[] = [];
    await bus.subscribe('orders.>', (d) => seen.push(d), { group: 'all' }).ready;
    const error = await bus.publish(Order, { id: 1, total: 'x' } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect((error as CourierError).message).toMatch(
      /data for orders.created does not match its schema: id: .*; total: /,
    );
    expect((error as CourierError).data).toMatchObject({ issues: [{ path: 'id' }, { path: 'total' }] });
    await bus.publish(Order, { id: 'ok', total: 1 });
    await expect.poll(() => seen).toEqual([{ id: 'ok', total: 1 }]);
  });

  it('checks requests before sending and responses on both sides', async () => {
    await using bus = await connect('memory://');
    let calls = 0;
    bus.handle(Reserve, ({ sku }) => {
      calls++;
      return (sku === 'bad' ? { ok: 'no' } : { ok: true }) as { ok: boolean };
    });
    await expect(bus.request(Reserve, { sku: 1 } as never)).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    expect(calls).toBe(0);
    await expect(bus.request(Reserve, { sku: 'bad' })).rejects.toThrow(
      /response from inventory.reserve does not match its schema/,
    );
    await expect(bus.request(Reserve, { sku: 'A' })).resolves.toEqual({ ok: true });
  });

  it('refuses with UNSUPPORTED, naming the capability and the engine, what it cannot fill', async () => {
    const noRequest = new Bus(memoryTransport({ without: ['request'] }));
    await expect(noRequest.request('a.b', 1)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      data: { capability: 'request', engine: 'memory' },
    });
    expect(() => noRequest.handle('a.b', () => 1)).toThrow(
      /needs the request capability, which the memory engine lacks/,
    );
    const noReplay = new Bus(memoryTransport({ without: ['replay'] }));
    expect(() => noReplay.subscribe('a.b', () => undefined, { deliver: 'all' })).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED' }),
    );
    const noDlq = new Bus(memoryTransport({ without: ['deadLetter'] }));
    expect(() => noDlq.subscribe('a.b', () => undefined, { group: 'g' })).toThrow(/deadLetter capability/);
    await expect(noDlq.deadLetters.list('g')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await Promise.all([noRequest.close(), noReplay.close(), noDlq.close()]);
  });

  it('refuses malformed options with INVALID_OPTION naming the option', async () => {
    await using bus = await connect('memory://');
    const sub = (options: object) => () => bus.subscribe('a.b', () => undefined, options);
    expect(sub({ concurrency: 0 })).toThrow(/concurrency must be a whole number/);
    expect(sub({ retry: { attempts: 0 } })).toThrow(/retry.attempts/);
    expect(sub({ retry: { delay: 'soon' } })).toThrow(/retry.delay: "soon" is not a duration/);
    expect(sub({ retry: { backoff: 'linear' } })).toThrow(/retry.backoff/);
    expect(sub({ retry: { jitter: 2 } })).toThrow(/retry.jitter/);
    expect(sub({ group: '' })).toThrow(/group must be a non-empty string/);
    expect(sub({ deliver: 'last' })).toThrow(/deliver is "last"; use 'new', 'all'/);
    expect(sub({ ackWait: '1 hour' })).toThrow(/ackWait/);
    await expect(bus.publish('a.b', 1, { delay: '1s', at: Date.now() })).rejects.toThrow(
      /delay or at, not both/,
    );
    await expect(bus.publish('a.b', 1, { headers: { n: 1 as unknown as string } })).rejects.toThrow(
      /header n must be a string/,
    );
    await expect(bus.publish('a.b', 1, { key: '' })).rejects.toThrow(/key must be a non-empty string/);
    await expect(bus.publish('a.b', 1, { at: 'tomorrow' as unknown as Date })).rejects.toThrow(
      /at must be a Date/,
    );
    await expect(bus.request('a.b', 1, { timeout: 'long' as '1s' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });

  it('sends a CourierError marked not retryable to the dead letters at once', async () => {
    await using bus = await connect('memory://');
    let calls = 0;
    bus.subscribe(
      'pay.card',
      () => {
        calls++;
        throw new CourierError('CARD_DECLINED', 'declined', { retryable: false });
      },
      { group: 'billing', retry: { attempts: 5, delay: 1 } },
    );
    await bus.publish('pay.card', { n: 1 });
    await expect.poll(() => bus.deadLetters.list('billing')).toHaveLength(1);
    const [entry] = await bus.deadLetters.list('billing');
    expect(entry).toMatchObject({ attempts: 1, error: { code: 'CARD_DECLINED' } });
    expect(calls).toBe(1);
  });

  it('dead-letters what it cannot decode, with CODEC_ERROR, and keeps the raw payload', async () => {
    const { bus } = pair();
    const producer = bus({ codecs: [{ ...textCodec, contentType: 'text/x-custom' }] });
    const consumer = bus();
    consumer.subscribe('custom.data', () => undefined, { group: 'g' });
    await producer.publish('custom.data', 'hi', { codec: { ...textCodec, contentType: 'text/x-custom' } });
    await expect.poll(() => consumer.deadLetters.list('g')).toHaveLength(1);
    const [entry] = await consumer.deadLetters.list('g');
    expect(entry?.error).toMatchObject({ code: 'CODEC_ERROR' });
    expect(Array.from(entry?.data as Uint8Array)).toEqual([104, 105]);
    await Promise.all([producer.close(), consumer.close()]);
  });

  it('keeps retry state in the engine: a member that leaves mid-backoff loses nothing', async () => {
    const { bus } = pair();
    const first = bus();
    const failed = nextValue<void>();
    first.subscribe(
      'jobs.run',
      () => {
        failed.resolve();
        throw new Error('crash');
      },
      { group: 'workers', retry: { attempts: 3, backoff: 'fixed', delay: 100 } },
    );
    const producer = bus();
    await producer.publish('jobs.run', 'job-1');
    await failed.promise;
    await first.close();
    const second = bus();
    const retried = nextValue<{ data: unknown; attempt: number }>();
    second.subscribe('jobs.run', (data, ctx) => retried.resolve({ data, attempt: ctx.attempt }), {
      group: 'workers',
    });
    await expect(retried.promise).resolves.toEqual({ data: 'job-1', attempt: 2 });
    await Promise.all([second.close(), producer.close()]);
  });

  it('extends the ack deadline while a handler runs, so a slow handler is not run twice', async () => {
    await using bus = await connect('memory://');
    const starts: number[] = [];
    const done = nextValue<void>();
    bus.subscribe(
      'slow.job',
      async (n: number) => {
        starts.push(n);
        // Time passing is the behaviour under test: four ack-wait periods.
        await new Promise((resolve) => setTimeout(resolve, 200));
        done.resolve();
      },
      { group: 'g', ackWait: 50, concurrency: 2 },
    );
    await bus.publish('slow.job', 1);
    await done.promise;
    expect(starts).toEqual([1]);
  });

  it('refuses work after close with CONNECTION_CLOSED, and disposes with await using', async () => {
    const engine = new MemoryEngine();
    {
      await using bus = new Bus(memoryTransport({ engine }));
      await bus.publish('x.y', 1);
    }
    const bus = new Bus(memoryTransport({ engine }));
    await bus.close();
    await expect(bus.publish('x.y', 1)).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await expect(bus.request('x.y', 1)).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(() => bus.subscribe('x.y', () => undefined)).toThrow(
      expect.objectContaining({ code: 'CONNECTION_CLOSED' }),
    );
    await expect(bus.close()).resolves.toBeUndefined();
  });

  it('delivers to private subscriptions only while they run, and forgets them after close', async () => {
    const { bus } = pair();
    const a = bus();
    const got: unknown[] = [];
    const sub = a.subscribe('p.q', (d) => got.push(d));
    await sub.ready;
    await a.publish('p.q', 1);
    await expect.poll(() => got).toEqual([1]);
    await sub.close();
    await a.publish('p.q', 2);
    const again = a.subscribe('p.q', (d) => got.push(d));
    await again.ready;
    await a.publish('p.q', 3);
    await expect.poll(() => got).toEqual([1, 3]);
    await a.close();
  });
});
