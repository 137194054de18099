/**
 * The stress variant (set COURIER_STRESS=1): many messages, many members,
 * failing handlers and several groups at once, checking that every message
 * is handled to success exactly once per group.
 */
import { expect } from 'vitest';
import { collect } from './delivery-cases.js';
import { Collector } from './helpers.js';
import type { CaseContext, SuiteCase } from './suite-case.js';

async function storm(
  ctx: CaseContext,
  label: string,
  size: { messages: number; groups: number; members: number },
): Promise<void> {
  const subject = `${ctx.prefix}.${label}`;
  const done = new Collector<string>();
  const successes = new Map<string, number>();
  for (let g = 0; g < size.groups; g++) {
    const group = ctx.name(`g${g}`);
    for (let m = 0; m < size.members; m++) {
      const bus = await ctx.scope.bus({ onError: () => undefined });
      await collect<number>(
        bus,
        subject,
        { group, concurrency: 8, retry: { attempts: 10, backoff: 'fixed', delay: 1 } },
        (n, c) => {
          // One message in seven fails its first attempt, to mix retries into the flow.
          if (c.attempt === 1 && n % 7 === 3) throw new Error('transient');
          const key = `${g}:${n}`;
          successes.set(key, (successes.get(key) ?? 0) + 1);
          done.push(key);
        },
      );
    }
  }
  const producers = await Promise.all([1, 2, 3, 4].map(() => ctx.scope.bus()));
  const sends: Array<Promise<unknown>> = [];
  for (let n = 0; n < size.messages; n++)
    sends.push((producers[n % producers.length] as (typeof producers)[number]).publish(subject, n));
  await Promise.all(sends);
  await done.until(
    () => successes.size >= size.messages * size.groups,
    ctx.wait(120_000),
    'every message in every group',
  );
  const twice = [...successes].filter(([, count]) => count !== 1);
  expect(twice, 'messages handled to success more than once in a group').toEqual([]);
  expect(successes.size).toBe(size.messages * size.groups);
}

export const stressCases: SuiteCase[] = [
  {
    id: 'stress.delivery',
    title:
      'stress: 3 parallel storms of 5,000 messages, 3 groups of 4 members each; nothing lost, nothing handled twice',
    async run(ctx) {
      await Promise.all(
        ['a', 'b', 'c'].map((label) => storm(ctx, label, { messages: 5000, groups: 3, members: 4 })),
      );
    },
  },
];
