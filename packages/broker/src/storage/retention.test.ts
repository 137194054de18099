import { describe, expect, it } from 'vitest';
import { GroupState } from './group-state.js';
import { lowestNeeded, planRetention, type SegmentStats } from './retention.js';

const seg = (lastSequence: number, count: number, lastTime = 0, size = count * 100): SegmentStats => ({
  lastSequence,
  count,
  lastTime,
  size,
});

describe('planRetention', () => {
  const segments = [seg(10, 10, 100), seg(20, 10, 200), seg(30, 10, 300)];

  it('drops nothing without limits or a floor', () => {
    expect(planRetention({ segments, now: 1e9, limits: {}, lowestNeeded: undefined }).drop).toBe(0);
  });

  it('drops the oldest segments while over max messages or bytes, never the active one', () => {
    expect(
      planRetention({ segments, now: 0, limits: { maxMessages: 25 }, lowestNeeded: undefined }),
    ).toMatchObject({
      drop: 1,
      reasons: ['max_messages'],
    });
    expect(
      planRetention({ segments, now: 0, limits: { maxBytes: 1 }, lowestNeeded: undefined }),
    ).toMatchObject({
      drop: 2,
      rollActive: false,
    });
    expect(
      planRetention({ segments, now: 0, limits: { maxMessages: 1, discard: 'new' }, lowestNeeded: undefined })
        .drop,
    ).toBe(0);
  });

  it('drops segments whose newest record is older than max age, rolling the active one when all expired', () => {
    expect(
      planRetention({ segments, now: 350, limits: { maxAgeMs: 100 }, lowestNeeded: undefined }),
    ).toMatchObject({
      drop: 2,
    });
    expect(
      planRetention({ segments, now: 1000, limits: { maxAgeMs: 100 }, lowestNeeded: undefined }),
    ).toMatchObject({
      drop: 3,
      rollActive: true,
    });
  });

  it('drops only segments entirely below the lowest needed sequence', () => {
    expect(planRetention({ segments, now: 0, limits: {}, lowestNeeded: 20 }).drop).toBe(1);
    expect(planRetention({ segments, now: 0, limits: {}, lowestNeeded: 21 }).drop).toBe(2);
    expect(
      planRetention({ segments: [...segments, seg(29, 0)], now: 0, limits: {}, lowestNeeded: 31 }),
    ).toMatchObject({
      drop: 3,
      rollActive: false,
    });
  });
});

describe('lowestNeeded', () => {
  const group = (floor: number, acked: number[] = []) => {
    const g = new GroupState('g', floor);
    for (const s of acked) g.ack(s);
    return g;
  };

  it('is undefined for limits retention and everything for interest without groups', () => {
    expect(lowestNeeded({ policy: 'limits', groups: [group(5)], nextSequence: 10 })).toBeUndefined();
    expect(lowestNeeded({ policy: 'interest', groups: [], nextSequence: 10 })).toBe(10);
  });

  it('interest and work queue keep what some group has neither acked nor passed', () => {
    for (const policy of ['interest', 'workqueue'] as const) {
      expect(lowestNeeded({ policy, groups: [group(3), group(7, [9])], nextSequence: 20 })).toBe(4);
      expect(lowestNeeded({ policy, groups: [group(7, [8, 9])], nextSequence: 20 })).toBe(10);
      // Above the lowest floor, a sequence goes once every group acked it or passed it.
      expect(lowestNeeded({ policy, groups: [group(5), group(3, [4, 5])], nextSequence: 20 })).toBe(6);
    }
  });

  it('regression: a work queue keeps what a group whose floor is behind has not read, however far another got', () => {
    // Group a's floor passed 80 records, 40 of them for group b's subjects, which b never read.
    expect(lowestNeeded({ policy: 'workqueue', groups: [group(80), group(0)], nextSequence: 81 })).toBe(1);
  });
});
