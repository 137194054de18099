/**
 * Retry policies: how many attempts, and how long to wait before each retry.
 * Shared by subscriptions (redelivery through the engine) and the `retry`
 * middleware (calls retried in process).
 */
import { type Duration, optionalMillis } from './duration.js';
import { CourierError } from './errors.js';
import { wholeNumber } from './option-checks.js';

/** How to retry. */
export interface RetryOptions {
  /** Total attempts, the first included; `1` means no retry. Default 5. */
  attempts?: number;
  /** `fixed`: always `delay`; `exponential`: `delay * 2^(retry-1)`, capped by `maxDelay`. Default exponential. */
  backoff?: 'fixed' | 'exponential';
  /** The first retry's delay. Default 1s. */
  delay?: Duration;
  /** The longest delay. Default 1m. */
  maxDelay?: Duration;
  /**
   * Randomness: a fraction in [0, 1] of each delay that may be taken off at
   * random, so that retries of many messages spread out. `true` is 0.5.
   * Default 0.
   */
  jitter?: boolean | number;
}

/** A resolved retry policy. */
export interface RetryPolicy {
  readonly attempts: number;
  /** Milliseconds to wait after failed attempt number `attempt` (1-based). */
  delayAfter(attempt: number): number;
}

/** Resolves options into a policy, checking each value. `name` prefixes error messages. */
export function retryPolicy(options: RetryOptions = {}, name = 'retry'): RetryPolicy {
  const attempts = wholeNumber(options.attempts, `${name}.attempts`, { min: 1, fallback: 5 });
  const backoff = options.backoff ?? 'exponential';
  if (backoff !== 'fixed' && backoff !== 'exponential') {
    throw new CourierError(
      'INVALID_OPTION',
      `${name}.backoff must be 'fixed' or 'exponential', got ${JSON.stringify(backoff)}`,
    );
  }
  const delay = optionalMillis(options.delay, `${name}.delay`, 1000);
  const maxDelay = optionalMillis(options.maxDelay, `${name}.maxDelay`, 60_000);
  const jitter =
    options.jitter === true
      ? 0.5
      : options.jitter === false || options.jitter === undefined
        ? 0
        : options.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name}.jitter must be a boolean or a fraction between 0 and 1, got ${String(options.jitter)}`,
    );
  }
  return {
    attempts,
    delayAfter(attempt) {
      const base = backoff === 'fixed' ? delay : delay * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
      const capped = Math.min(base, Math.max(maxDelay, delay));
      return Math.round(capped * (1 - jitter * Math.random()));
    },
  };
}
