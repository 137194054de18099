import { afterEach, describe, expect, it, vi } from 'vitest';
import { longTimeout } from './long-timeout.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('longTimeout', () => {
  it('waits past 2^31-1 ms instead of firing at once (a 30-day delay must not mean now)', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const thirtyDays = 30 * 86_400_000;
    longTimeout(fired, thirtyDays);
    vi.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(thirtyDays - 1001);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('can be cancelled in any stretch', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const timer = longTimeout(fired, 2 ** 31 + 10);
    vi.advanceTimersByTime(2 ** 31);
    timer.cancel();
    vi.advanceTimersByTime(100);
    expect(fired).not.toHaveBeenCalled();
  });
});
