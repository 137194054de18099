/** Commit bookkeeping: the watermark never passes an unsettled offset, keys go one at a time. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartitionState, type Pending, parseCarry } from './partition-state.js';

function state(orderKeys = true): PartitionState<null> {
  return new PartitionState<null>({ topic: 't', partition: 0, start: 0, carry: undefined, orderKeys });
}
const pending = (offset: number, key?: string): Pending<null> => ({ offset, key, record: null });

describe('PartitionState', () => {
  it('commits only below the first unsettled offset when a later one finishes first', () => {
    const s = state();
    for (const n of [0, 1, 2]) s.add(pending(n));
    const [a, b, c] = [s.take(), s.take(), s.take()] as Array<Pending<null>>;
    s.settle(c as Pending<null>);
    s.settle(b as Pending<null>);
    expect(s.watermark).toBe(0);
    s.settle(a as Pending<null>);
    expect(s.watermark).toBe(3);
  });

  it('whatever order offsets settle in, the watermark is the lowest unsettled one', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (keys) => {
        const s = state(false);
        const taken = keys.map((_, i) => {
          s.add(pending(i));
          return s.take() as Pending<null>;
        });
        const order = [...taken].sort((x, y) => (keys[x.offset] as number) - (keys[y.offset] as number));
        const settled = new Set<number>();
        for (const p of order) {
          s.settle(p);
          settled.add(p.offset);
          let low = 0;
          while (settled.has(low)) low++;
          expect(s.watermark).toBe(low);
        }
      }),
    );
  });

  it('hands out one record per key at a time, in order', () => {
    const s = state();
    s.add(pending(0, 'k'));
    s.add(pending(1, 'k'));
    s.add(pending(2, 'other'));
    const first = s.take() as Pending<null>;
    expect(first.offset).toBe(0);
    expect(s.take()?.offset).toBe(2);
    expect(s.take()).toBeUndefined();
    s.settle(first);
    expect(s.take()?.offset).toBe(1);
  });

  it('drops refetched records and skips records it is told to', () => {
    const s = state();
    expect(s.add(pending(0), true)).toBe(true);
    expect(s.add(pending(0))).toBe(false);
    expect(s.watermark).toBe(1);
  });

  it('records hand-outs in its commit metadata, for the next owner to count attempts', () => {
    const s = state();
    s.add(pending(0));
    s.take();
    const commit = s.commit();
    expect(commit).toMatchObject({ offset: 0 });
    const carry = parseCarry(commit?.metadata);
    expect(carry).toEqual({ until: 1, attempts: 1 });
    const next = new PartitionState<null>({ topic: 't', partition: 0, start: 0, carry, orderKeys: true });
    expect(next.earlierAttempts(0)).toBe(1);
    expect(next.earlierAttempts(1)).toBe(0);
    expect(s.commit()).toBeUndefined();
    expect(parseCarry('not ours')).toBeUndefined();
  });
});
