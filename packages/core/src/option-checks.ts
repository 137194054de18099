/** Checks shared by the Bus's options: counts, the deliver policy, ack waits and timer lengths. */
import { type Duration, optionalMillis } from './duration.js';
import { CourierError } from './errors.js';
import type { DeliverPolicy, DeliverStart } from './transport.js';

/**
 * Returns `value`, or `fallback` when it is undefined.
 * @throws CourierError `INVALID_OPTION` when it is not a whole number of at least `min`.
 */
export function wholeNumber(
  value: number | undefined,
  name: string,
  options: { min: number; fallback: number },
): number {
  if (value === undefined) return options.fallback;
  if (!Number.isInteger(value) || value < options.min) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} must be a whole number of at least ${options.min}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Checks a subscription's `deliver` policy and gives it as transports take it
 * (a time as ms since the epoch).
 * @throws CourierError `INVALID_OPTION` naming the accepted forms.
 */
export function deliverStart(value: DeliverPolicy | undefined): DeliverStart {
  if (value === undefined || value === 'new' || value === 'all') return value ?? 'new';
  const forms = "use 'new', 'all', { sequence: n } (a stream sequence of at least 1) or { time: Date | ms }";
  if (typeof value === 'object' && value !== null) {
    if ('sequence' in value) {
      const { sequence } = value;
      if (Number.isSafeInteger(sequence) && sequence >= 1) return { sequence };
      throw new CourierError(
        'INVALID_OPTION',
        `deliver.sequence must be a whole number of at least 1, got ${String(sequence)}; ${forms}`,
      );
    }
    if ('time' in value) {
      const time = value.time instanceof Date ? value.time.getTime() : value.time;
      if (typeof time === 'number' && Number.isFinite(time) && time >= 0) return { time };
      throw new CourierError(
        'INVALID_OPTION',
        `deliver.time must be a valid Date or ms since the epoch, got ${String(value.time)}; ${forms}`,
      );
    }
  }
  throw new CourierError('INVALID_OPTION', `deliver is ${JSON.stringify(value)}; ${forms}`);
}

/** The ack wait of a subscription: at least 10 ms, or the engine would redeliver while the handler starts. */
export function ackWaitOf(value: Duration | undefined): number {
  const ms = optionalMillis(value, 'ackWait', 30_000);
  if (ms < 10)
    throw new CourierError(
      'INVALID_OPTION',
      `ackWait must be at least 10ms, got ${ms} ms; the default is 30s`,
    );
  return atMostLongestTimer(ms, 'ackWait');
}

/** Timeouts and ack waits are timers: at most 2^31-1 ms (24.8 days). Delays may be longer. */
export function atMostLongestTimer(ms: number, name: string): number {
  if (ms > 2 ** 31 - 1) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} of ${ms} ms is longer than the longest supported, 24 days; use a shorter one`,
    );
  }
  return ms;
}
