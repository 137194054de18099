/**
 * Behaviour cases for delivery through the Bus: attributes, groups and
 * members, wildcards, deliver policies, resumption, concurrency, key
 * ordering, delay, dedup, dead members and draining.
 */
import type { Bus, MessageContext, SubscribeOptions, Subscription } from '@courier/core';
import { expect } from 'vitest';
import { Collector, deferred, within } from './helpers.js';
import type { SuiteCase } from './suite-case.js';

/** One handled message. */
export interface Seen<T = unknown> {
  data: T;
  ctx: MessageContext;
}

/** Subscribe options, plus the handler to run before a message counts as seen (default: none). */
export interface CollectOptions<T> extends SubscribeOptions {
  handler?: (data: T, ctx: MessageContext) => unknown;
}

/** Subscribes, collects what the handler sees, and waits until the engine delivers. */
export async function collect<T = unknown>(
  bus: Bus,
  subject: string,
  collectOptions: CollectOptions<T> = {},
): Promise<{ seen: Collector<Seen<T>>; subscription: Subscription }> {
  const { handler = () => undefined, ...options } = collectOptions;
  const seen = new Collector<Seen<T>>();
  const subscription = bus.subscribe<T>(
    subject,
    async (data, ctx) => {
      const result = await handler(data, ctx);
      seen.push({ data, ctx });
      return result;
    },
    options,
  );
  await subscription.ready;
  return { seen, subscription };
}

const numbers = (seen: readonly Seen[]): number[] => seen.map((s) => s.data as number);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export const deliveryCases: SuiteCase[] = [
  {
    id: 'bus.attributes',
    title: 'a subscriber receives data, subject, id, headers, time, source and key',
    async run(ctx) {
      const bus = await ctx.scope.bus({ service: 'producer-svc' });
      const subject = `${ctx.prefix}.attrs`;
      const { seen } = await collect(bus, subject, { group: ctx.name('g') });
      const before = Date.now();
      const { id } = await bus.publish(subject, { hello: 'world' }, { headers: { 'x-a': '1' }, key: 'k' });
      const [got] = await seen.count(1, ctx.wait(5000));
      expect(got?.data).toEqual({ hello: 'world' });
      expect(got?.ctx).toMatchObject({
        id,
        subject,
        source: 'producer-svc',
        key: 'k',
        attempt: 1,
        contentType: 'application/json',
      });
      expect(got?.ctx.headers['x-a']).toBe('1');
      expect(got?.ctx.time).toBeInstanceOf(Date);
      expect(got?.ctx.time.getTime()).toBeGreaterThanOrEqual(before);
      expect(got?.ctx.time.getTime()).toBeLessThanOrEqual(Date.now());
    },
  },
  {
    id: 'bus.groups-each-once',
    title: 'every group gets each message once',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.fanout`;
      const a = await collect(bus, subject, { group: ctx.name('a'), concurrency: 4 });
      const b = await collect(bus, subject, { group: ctx.name('b'), concurrency: 4 });
      for (const n of range(20)) await bus.publish(subject, n);
      await bus.publish(subject, 'end');
      for (const group of [a, b]) {
        const seen = await group.seen.until(
          (s) => s.some((x) => x.data === 'end') && s.length >= 21,
          ctx.wait(10_000),
        );
        const got = seen.filter((x) => x.data !== 'end').map((x) => x.data as number);
        expect(got.sort((x, y) => x - y)).toEqual(range(20));
      }
    },
  },
  {
    id: 'bus.members-share',
    title: 'members of one group share the work: 200 messages, each handled once, both members get some',
    async run(ctx) {
      const subject = `${ctx.prefix}.share`;
      const group = ctx.name('g');
      const handled = new Collector<{ member: string; n: number }>();
      for (const member of ['one', 'two']) {
        const bus = await ctx.scope.bus();
        await collect<number>(bus, subject, {
          group,
          concurrency: 4,
          handler: async (n) => {
            handled.push({ member, n });
            // Yield so that one member cannot drain the queue before the other is offered anything.
            await new Promise((resolve) => setImmediate(resolve));
          },
        });
      }
      const producer = await ctx.scope.bus();
      await Promise.all(range(200).map((n) => producer.publish(subject, n)));
      const all = await handled.count(200, ctx.wait(20_000));
      expect(all.map((h) => h.n).sort((x, y) => x - y)).toEqual(range(200));
      expect(all.filter((h) => h.member === 'one').length).toBeGreaterThan(0);
      expect(all.filter((h) => h.member === 'two').length).toBeGreaterThan(0);
    },
  },
  {
    id: 'bus.wildcards',
    title: "wildcards: '*' matches one token, '>' one or more trailing tokens, nothing else matches",
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const p = ctx.prefix;
      const star = await collect(bus, `${p}.*.created`, { group: ctx.name('star') });
      const tail = await collect(bus, `${p}.orders.>`, { group: ctx.name('tail') });
      const subjects = [
        `${p}.orders.created`,
        `${p}.users.created`,
        `${p}.orders.eu.created`,
        `${p}.orders`,
        `${p}.orders.updated`,
        `${p}x.orders.created`,
        `${p}.created`,
      ];
      for (const subject of subjects) await bus.publish(subject, subject);
      await bus.publish(`${p}.end.created`, 'end');
      await bus.publish(`${p}.orders.end`, 'end');
      // Engines may keep subjects apart (a topic or stream each), so compare sets, not arrival order.
      const starSeen = await star.seen.count(3, ctx.wait(5000));
      const tailSeen = await tail.seen.count(4, ctx.wait(5000));
      const subjectsOf = (seen: readonly Seen[]): string[] => seen.map((x) => x.ctx.subject).sort();
      expect(subjectsOf(starSeen)).toEqual([`${p}.end.created`, `${p}.orders.created`, `${p}.users.created`]);
      expect(subjectsOf(tailSeen)).toEqual(
        [`${p}.orders.created`, `${p}.orders.eu.created`, `${p}.orders.updated`, `${p}.orders.end`].sort(),
      );
      // Sentinels last: whatever else matched would have come with them on a single-stream engine.
      await bus.publish(`${p}.last.created`, 'end');
      await star.seen.count(4, ctx.wait(5000));
      expect(star.seen.items).toHaveLength(4);
      expect(tail.seen.items).toHaveLength(4);
    },
  },
  {
    id: 'bus.deliver-policy',
    title: "deliver: 'all' receives messages published before the subscription; 'new' does not",
    needs: ['replay'],
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.policy`;
      await bus.publish(subject, 'old');
      const all = await collect(bus, subject, { group: ctx.name('all'), deliver: 'all' });
      const fresh = await collect(bus, subject, { group: ctx.name('new'), deliver: 'new' });
      await bus.publish(subject, 'new');
      // Without a key there is no promised order (Kafka keeps order per partition only).
      expect((await all.seen.count(2, ctx.wait(5000))).map((s) => s.data).sort()).toEqual(['new', 'old']);
      expect((await fresh.seen.count(1, ctx.wait(5000))).map((s) => s.data)).toEqual(['new']);
    },
  },
  {
    id: 'bus.group-resumes',
    title: 'a group closed and reopened resumes after its last ack: nothing acked again, nothing skipped',
    async run(ctx) {
      const subject = `${ctx.prefix}.resume`;
      const group = ctx.name('g');
      const producer = await ctx.scope.bus();
      const first = await collect(await ctx.scope.bus(), subject, { group });
      for (const n of range(10)) await producer.publish(subject, n);
      await first.seen.count(10, ctx.wait(5000));
      await first.subscription.close();
      for (const n of range(10)) await producer.publish(subject, 10 + n);
      // An existing group resumes whatever the policy; engines without replay refuse 'all' outright.
      const deliver = ctx.capabilities.replay ? 'all' : 'new';
      const second = await collect(await ctx.scope.bus(), subject, { group, deliver });
      await producer.publish(subject, 20);
      // Messages without a key have no promised order (Kafka keeps order per partition only): compare as sets.
      const seen = await second.seen.count(11, ctx.wait(5000));
      expect(numbers(seen).sort((x, y) => x - y)).toEqual(range(11).map((n) => n + 10));
    },
  },
  {
    id: 'bus.concurrency',
    title: 'never more than `concurrency` handlers in flight',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.conc`;
      let running = 0;
      let peak = 0;
      const parallel = deferred();
      const { seen } = await collect(bus, subject, {
        group: ctx.name('g'),
        concurrency: 3,
        handler: async () => {
          running++;
          peak = Math.max(peak, running);
          if (running > 1) parallel.resolve();
          // Until a second handler runs beside this one: a handler that ends before the engine hands out the
          // next message (a busy machine spacing deliveries out) must not hide the parallelism.
          // None came in time: let every handler go on, so that the peak check below fails, not the count.
          await within(parallel.promise, ctx.wait(5000), 'a second handler in flight').catch(() =>
            parallel.resolve(),
          );
          for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
          running--;
        },
      });
      await Promise.all(range(30).map((n) => bus.publish(subject, n)));
      await seen.count(30, ctx.wait(10_000));
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
    },
  },
  {
    id: 'bus.delay',
    title: '`delay` and `at`: not delivered before the time, delivered after',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.delay`;
      const handledAt = new Map<unknown, number>();
      const { seen } = await collect(bus, subject, {
        group: ctx.name('g'),
        concurrency: 4,
        handler: (data) => {
          handledAt.set(data, Date.now());
        },
      });
      const published = Date.now();
      await bus.publish(subject, 'delayed', { delay: '300ms' });
      await bus.publish(subject, 'at', { at: new Date(published + 400) });
      await bus.publish(subject, 'now');
      const all = await seen.count(3, ctx.wait(10_000));
      expect(all.map((s) => s.data).sort()).toEqual(['at', 'delayed', 'now']);
      // Timers may fire a millisecond early by rounding; the engine must not be early by more.
      expect(handledAt.get('delayed')).toBeGreaterThanOrEqual(published + 300 - 2);
      expect(handledAt.get('at')).toBeGreaterThanOrEqual(published + 400 - 2);
      expect(all.map((s) => s.ctx.attempt)).toEqual([1, 1, 1]);
    },
  },
  {
    id: 'bus.dedup',
    title: 'the same id twice inside the window is stored and delivered once; both publishes resolve',
    needs: ['dedup'],
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.dedup`;
      const { seen } = await collect(bus, subject, { group: ctx.name('g') });
      const id = `order-${ctx.name('id')}`;
      await expect(bus.publish(subject, 'first', { id })).resolves.toEqual({ id });
      await expect(bus.publish(subject, 'second', { id })).resolves.toEqual({ id });
      await bus.publish(subject, 'end');
      const all = await seen.until((s) => s.some((x) => x.data === 'end'), ctx.wait(5000));
      expect(all.map((s) => s.data)).toEqual(['first', 'end']);
    },
  },
  {
    id: 'bus.dead-member',
    title: 'a message held by a member that dies without acking is redelivered to another member',
    needsOption: 'kill',
    async run(ctx) {
      const subject = `${ctx.prefix}.dies`;
      const group = ctx.name('g');
      const held = deferred();
      const doomed = await ctx.scope.bus({ onError: () => undefined });
      await collect(doomed, subject, {
        group,
        ackWait: ctx.wait(2000),
        handler: () => {
          held.resolve();
          return new Promise(() => undefined); // never finishes: the process dies first
        },
      });
      const producer = await ctx.scope.bus();
      await producer.publish(subject, 'precious');
      await within(held.promise, ctx.wait(5000), 'the first member to take the message');
      const survivor = await collect(await ctx.scope.bus(), subject, { group });
      await ctx.options.kill?.(doomed.transport);
      const [got] = await survivor.seen.count(1, ctx.wait(10_000));
      expect(got?.data).toBe('precious');
      expect(got?.ctx.attempt).toBe(2);
    },
  },
  {
    id: 'bus.close-drains',
    title: 'close() lets in-flight handlers finish and ack, starts no new ones; publish after close rejects',
    async run(ctx) {
      const subject = `${ctx.prefix}.drain`;
      const group = ctx.name('g');
      const producer = await ctx.scope.bus();
      const consumer = await ctx.scope.bus();
      const release = deferred();
      const started = new Collector<number>();
      const finished: number[] = [];
      await collect<number>(consumer, subject, {
        group,
        concurrency: 2,
        handler: async (n) => {
          started.push(n);
          await release.promise;
          finished.push(n);
        },
      });
      for (const n of range(5)) await producer.publish(subject, n);
      await started.count(2, ctx.wait(5000));
      const closing = consumer.close();
      release.resolve();
      await closing;
      expect(started.items).toHaveLength(2);
      expect(finished.sort()).toEqual([...started.items].sort());
      await expect(consumer.publish(subject, 99)).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      const rest = await collect(await ctx.scope.bus(), subject, { group });
      const after = await rest.seen.count(3, ctx.wait(5000));
      expect(numbers(after).sort()).toEqual(range(5).filter((n) => !started.items.includes(n)));
    },
  },
];
