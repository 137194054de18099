import { describe, expect, it } from 'vitest';
import { optionalMillis, toMillis } from './duration.js';

describe('durations', () => {
  it.each([
    [0, 0],
    [250, 250],
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    [' 3 s ', 3000],
  ])('%j is %d ms', (input, ms) => expect(toMillis(input as string, 'x')).toBe(ms));

  it.each([['5 minutes'], ['-1s'], [-5], [Number.NaN], [Number.POSITIVE_INFINITY], ['s'], [''], [null]])(
    'rejects %j with INVALID_OPTION naming the option and the accepted forms',
    (input) => {
      expect(() => toMillis(input as string, 'retry.delay')).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
      expect(() => toMillis(input as string, 'retry.delay')).toThrow(
        /retry\.delay: .* is not a duration; use milliseconds \(500\) or a string like '500ms'/,
      );
    },
  );

  it('falls back when undefined', () => {
    expect(optionalMillis(undefined, 'x', 7)).toBe(7);
    expect(optionalMillis('1s', 'x', 7)).toBe(1000);
  });
});
