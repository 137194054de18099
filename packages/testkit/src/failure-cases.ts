/**
 * Behaviour cases for failure: retries with backoff, dead letters and
 * replay, schema failures, payload formats and limits, invalid subjects.
 */
import { type Bus, CourierError, type DeadLetterEntry, event, type StandardSchemaV1 } from '@courier/core';
import { expect } from 'vitest';
import { collect } from './delivery-cases.js';
import { Collector } from './helpers.js';
import type { SuiteCase } from './suite-case.js';

/** A hand-written Standard Schema, so the suite needs no schema library: `{ n: number }`. */
const numberRecord: StandardSchemaV1<{ n: number }> = {
  '~standard': {
    version: 1,
    vendor: 'courier-testkit',
    validate(value) {
      if (typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number') {
        return { value: value as { n: number } };
      }
      return { issues: [{ message: 'expected a number', path: ['n'] }] };
    },
  },
};

export const failureCases: SuiteCase[] = [
  {
    id: 'bus.retry-backoff',
    title: 'a throwing handler is retried with backoff and ctx.attempt counts',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.retry`;
      const attempts = new Collector<{ attempt: number; at: number }>();
      await collect(bus, subject, {
        group: ctx.name('g'),
        retry: { attempts: 5, backoff: 'exponential', delay: 50 },
        handler: (_data, c) => {
          attempts.push({ attempt: c.attempt, at: Date.now() });
          if (c.attempt < 3) throw new Error(`fail ${c.attempt}`);
        },
      });
      await bus.publish(subject, 'x');
      const seen = await attempts.count(3, ctx.wait(10_000));
      expect(seen.map((a) => a.attempt)).toEqual([1, 2, 3]);
      const at = seen.map((a) => a.at);
      // Backoff 50 ms, then 100 ms (a millisecond of timer rounding allowed).
      expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(49);
      expect((at[2] as number) - (at[1] as number)).toBeGreaterThanOrEqual(99);
    },
  },
  {
    id: 'bus.dead-letter-replay',
    title:
      'a handler that always throws ends in the dead-letter queue with the error and attempts; replay delivers it again',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.dlq`;
      const group = ctx.name('g');
      let healthy = false;
      const calls = new Collector<number>();
      await collect(bus, subject, {
        group,
        retry: { attempts: 3, backoff: 'fixed', delay: 10 },
        handler: (_data, c) => {
          calls.push(c.attempt);
          if (!healthy) throw new CourierError('TIMEOUT', 'downstream timed out', { data: { after: 'ms' } });
        },
      });
      const { id } = await bus.publish(subject, { order: 1 });
      await calls.count(3, ctx.wait(10_000));
      const listed = await waitForDeadLetters(bus, group, { count: 1, within: ctx.wait(5000) });
      expect(listed[0]).toMatchObject({ id, group, attempts: 3, data: { order: 1 } });
      expect(listed[0]?.error).toBeInstanceOf(CourierError);
      expect(listed[0]?.error).toMatchObject({
        code: 'TIMEOUT',
        message: 'downstream timed out',
        data: { after: 'ms' },
      });
      expect(listed[0]?.message.subject).toBe(subject);
      healthy = true;
      expect(await bus.deadLetters.replay(group)).toBe(1);
      const all = await calls.count(4, ctx.wait(5000));
      expect(all).toEqual([1, 2, 3, 1]);
      expect(await bus.deadLetters.list(group)).toEqual([]);
    },
  },
  {
    id: 'bus.plain-error-dead-letter',
    title: 'a plain Error in the dead-letter queue keeps its message as HANDLER_ERROR; purge removes it',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.plain`;
      const group = ctx.name('g');
      await collect(bus, subject, {
        group,
        retry: { attempts: 1 },
        handler: () => {
          throw new Error('database said no');
        },
      });
      await bus.publish(subject, 1);
      const [entry] = await waitForDeadLetters(bus, group, { count: 1, within: ctx.wait(5000) });
      expect(entry?.error).toMatchObject({ code: 'HANDLER_ERROR', message: 'database said no' });
      expect(entry?.attempts).toBe(1);
      expect(await bus.deadLetters.purge(group, { ids: [entry?.id as string] })).toBe(1);
      expect(await bus.deadLetters.list(group)).toEqual([]);
    },
  },
  {
    id: 'bus.schema-dead-letter',
    title: 'a received message that fails its schema goes to the dead-letter queue at once, with the issues',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.schema`;
      const group = ctx.name('g');
      const contract = event(subject, numberRecord);
      const calls = new Collector<number>();
      await collect(bus, subject, { group: ctx.name('other') });
      const sub = bus.subscribe(contract, (data) => calls.push(data.n), {
        group,
        retry: { attempts: 5, delay: 10 },
      });
      await sub.ready;
      await bus.publish(subject, { n: 'not a number' });
      await bus.publish(contract, { n: 7 });
      await calls.count(1, ctx.wait(5000));
      const [entry] = await waitForDeadLetters(bus, group, { count: 1, within: ctx.wait(5000) });
      expect(entry?.attempts).toBe(1);
      expect(entry?.error.code).toBe('INVALID_MESSAGE');
      expect(entry?.error.message).toContain('n: expected a number');
      expect(entry?.error.data).toEqual({ issues: [{ message: 'expected a number', path: 'n' }] });
      expect(calls.items).toEqual([7]);
    },
  },
  {
    id: 'bus.payload-formats',
    title: 'binary and MessagePack payloads round-trip',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.formats`;
      const { seen } = await collect(bus, subject, { group: ctx.name('g') });
      const bytes = new Uint8Array([0, 255, 1, 254, 128]);
      await bus.publish(subject, bytes);
      const structured = { a: 1, b: [true, null, 'x'], c: { d: 2.5 }, big: 2 ** 40 };
      await bus.publish(subject, structured, { codec: 'msgpack' });
      await bus.publish(subject, 'text', { codec: 'text' });
      // Messages without a key have no promised order (Kafka keeps order per partition only): pick by type.
      const all = await seen.count(3, ctx.wait(5000));
      const [raw, packed, text] = ['application/octet-stream', 'application/msgpack', 'text/'].map((type) =>
        all.find((s) => s.ctx.contentType.startsWith(type)),
      );
      expect(raw?.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(raw?.data as Uint8Array)).toEqual(Array.from(bytes));
      expect(raw?.ctx.contentType).toBe('application/octet-stream');
      expect(packed?.data).toEqual(structured);
      expect(packed?.ctx.contentType).toBe('application/msgpack');
      expect(text?.data).toBe('text');
    },
  },
  {
    id: 'bus.payload-too-large',
    title:
      'a payload over the limit is refused with its size, the limit and what to do; nothing else is affected',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.big`;
      const { seen } = await collect(bus, subject, { group: ctx.name('g') });
      await bus.publish(subject, 'before');
      const big = new Uint8Array(ctx.capabilities.maxPayload + 1024);
      const error = await bus.publish(subject, big).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CourierError);
      expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', retryable: false });
      const message = (error as CourierError).message;
      expect(message).toMatch(/exceeds/);
      expect(message).toContain(subject);
      expect(message).toMatch(/raise|reference/);
      expect((error as CourierError).data).toMatchObject({ limit: ctx.capabilities.maxPayload });
      await bus.publish(subject, 'after');
      const all = await seen.count(2, ctx.wait(5000));
      // Without a key there is no promised order (Kafka keeps order per partition only).
      expect(all.map((s) => s.data).sort()).toEqual(['after', 'before']);
    },
  },
  {
    id: 'bus.invalid-subject',
    title: 'an invalid subject is refused with INVALID_SUBJECT',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      for (const subject of ['', 'a..b', 'a.b.', 'a b', 'a.*', 'a.>']) {
        await expect(bus.publish(subject, 1), subject).rejects.toMatchObject({ code: 'INVALID_SUBJECT' });
      }
      for (const pattern of ['a.>.b', 'a.b*', '.a', 'a\tb']) {
        expect(() => bus.subscribe(pattern, () => undefined, { group: 'g' }), pattern).toThrow(
          expect.objectContaining({ code: 'INVALID_SUBJECT' }),
        );
      }
      await expect(bus.request('a..b', 1)).rejects.toMatchObject({ code: 'INVALID_SUBJECT' });
    },
  },
];

/**
 * Waits until a group has `count` dead letters. The store lives in the
 * engine, which announces nothing when it gains one, so this asks it again
 * every 10 ms until the deadline.
 */
async function waitForDeadLetters(
  bus: Bus,
  group: string,
  { count, within }: { count: number; within: number },
): Promise<DeadLetterEntry[]> {
  const deadline = Date.now() + within;
  for (;;) {
    const listed = await bus.deadLetters.list(group);
    if (listed.length >= count) return listed;
    if (Date.now() > deadline)
      throw new Error(`waited ${within} ms for ${count} dead letters in ${group}; have ${listed.length}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
