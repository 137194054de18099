/**
 * Behaviour cases for keys: one message per key at a time, in publish order,
 * inside a member and across the members of a group, with retries.
 */
import { expect } from 'vitest';
import { collect } from './delivery-cases.js';
import { Collector, deferred, within } from './helpers.js';
import type { SuiteCase } from './suite-case.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export const keyCases: SuiteCase[] = [
  {
    id: 'bus.key-ordering',
    title: 'one key is handled one at a time in publish order; different keys run in parallel',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.keyed`;
      const running = new Map<string, number>();
      let overlap = false;
      let violation = '';
      const overlapSeen = deferred();
      const { seen } = await collect<{ key: string; n: number }>(bus, subject, {
        group: ctx.name('g'),
        concurrency: 8,
        handler: async (data) => {
          const now = (running.get(data.key) ?? 0) + 1;
          running.set(data.key, now);
          if (now > 1) violation = `two messages of key ${data.key} ran at once`;
          if ([...running.values()].filter((v) => v > 0).length > 1) {
            overlap = true;
            overlapSeen.resolve();
          }
          // The first message of each key waits until another key is running too: only parallel keys get past.
          if (data.n === 0)
            await within(overlapSeen.promise, ctx.wait(5000), 'a second key to run in parallel').catch(
              () => undefined,
            );
          for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
          running.set(data.key, (running.get(data.key) ?? 1) - 1);
        },
      });
      for (const n of range(10)) {
        for (const key of ['a', 'b']) await bus.publish(subject, { key, n }, { key });
      }
      const all = await seen.count(20, ctx.wait(15_000));
      for (const key of ['a', 'b']) {
        expect(all.filter((s) => s.data.key === key).map((s) => s.data.n)).toEqual(range(10));
      }
      expect(violation).toBe('');
      expect(overlap).toBe(true);
    },
  },
  {
    id: 'bus.key-ordering-members',
    title: 'one key at a time in order across the members of a group, not just inside one',
    needs: ['keyOrdering'],
    async run(ctx) {
      const subject = `${ctx.prefix}.keyed2`;
      const group = ctx.name('g');
      const running = new Map<string, number>();
      let violation = '';
      const handled = new Collector<{ key: string; n: number; member: string }>();
      for (const member of ['one', 'two']) {
        const bus = await ctx.scope.bus();
        await collect<{ key: string; n: number }>(bus, subject, {
          group,
          concurrency: 4,
          handler: async (data) => {
            const now = (running.get(data.key) ?? 0) + 1;
            running.set(data.key, now);
            if (now > 1) violation = `two messages of key ${data.key} ran at once`;
            for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
            running.set(data.key, now - 1);
            handled.push({ ...data, member });
          },
        });
      }
      const producer = await ctx.scope.bus();
      for (const n of range(10)) {
        for (const key of ['a', 'b', 'c']) await producer.publish(subject, { key, n }, { key });
      }
      const all = await handled.count(30, ctx.wait(15_000));
      expect(violation).toBe('');
      for (const key of ['a', 'b', 'c'])
        expect(all.filter((h) => h.key === key).map((h) => h.n)).toEqual(range(10));
    },
  },
  {
    id: 'bus.key-retry',
    title: 'a keyed message that fails is retried before the later messages of its key run',
    async run(ctx) {
      const bus = await ctx.scope.bus();
      const subject = `${ctx.prefix}.keyretry`;
      const order: string[] = [];
      const { seen } = await collect<number>(bus, subject, {
        group: ctx.name('g'),
        concurrency: 4,
        retry: { attempts: 3, backoff: 'fixed', delay: 20 },
        handler: (n, c) => {
          order.push(`${n}@${c.attempt}`);
          if (n === 0 && c.attempt === 1) throw new Error('first try fails');
        },
      });
      for (const n of range(4)) await bus.publish(subject, n, { key: 'k' });
      await seen.count(4, ctx.wait(10_000));
      expect(order).toEqual(['0@1', '0@2', '1@1', '2@1', '3@1']);
    },
  },
];
