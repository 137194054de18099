/** The durability case: a resolved publish survives a restart of the engine. */
import { expect } from 'vitest';
import { collect } from './delivery-cases.js';
import type { SuiteCase } from './suite-case.js';

export const restartCases: SuiteCase[] = [
  {
    id: 'engine.restart',
    title: 'a resolved publish is delivered after the engine restarts',
    needsOption: 'restart',
    async run(ctx) {
      const subject = `${ctx.prefix}.durable`;
      const group = ctx.name('g');
      const before = await ctx.scope.bus();
      const { subscription } = await collect(before, subject, { group });
      await subscription.close();
      for (const n of [1, 2, 3]) await before.publish(subject, n);
      await ctx.options.restart?.();
      const after = await ctx.scope.bus();
      const { seen } = await collect(after, subject, { group });
      const got = await seen.count(3, ctx.wait(10_000));
      expect(got.map((s) => s.data).sort()).toEqual([1, 2, 3]);
    },
  },
];
