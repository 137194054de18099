/**
 * Timers for waits of any length. Node fires a `setTimeout` longer than
 * 2^31-1 ms (24.8 days) after 1 ms; a 30-day delay must not mean now.
 */

const LONGEST = 2 ** 31 - 1;

/** A wait that can be cancelled. */
export interface LongTimeout {
  cancel(): void;
}

/** Calls `fn` after `ms`, however long; the timer does not keep the process alive. */
export function longTimeout(fn: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout;
  const arm = (left: number): void => {
    timer = setTimeout(() => (left > LONGEST ? arm(left - LONGEST) : fn()), Math.min(left, LONGEST));
    timer.unref();
  };
  arm(Math.max(ms, 0));
  return { cancel: () => clearTimeout(timer) };
}
