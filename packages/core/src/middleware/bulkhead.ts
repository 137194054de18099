/**
 * The bulkhead: at most `concurrency` calls run at once; up to `queue` more
 * wait their turn; beyond that calls fail fast with `BULKHEAD_FULL`, so one
 * slow dependency cannot take every resource of the process.
 */
import { CourierError } from '../errors.js';
import { wholeNumber } from '../option-checks.js';
import { type CallKind, type Middleware, only } from './compose.js';

/** Options for {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls running at once. */
  concurrency: number;
  /** Calls waiting for a slot. Default 0. */
  queue?: number;
  /** Which calls it limits. Default all. */
  kinds?: readonly CallKind[];
}

/** A bulkhead shared by every call it wraps. */
export function bulkhead(options: BulkheadOptions): Middleware {
  const concurrency = wholeNumber(options.concurrency, 'bulkhead.concurrency', { min: 1, fallback: 1 });
  const queueLimit = wholeNumber(options.queue, 'bulkhead.queue', { min: 0, fallback: 0 });
  let running = 0;
  const waiting: Array<() => void> = [];

  return only(options.kinds ?? ['publish', 'request', 'consume', 'handle'], async (call, next) => {
    if (running >= concurrency) {
      if (waiting.length >= queueLimit) {
        throw new CourierError(
          'BULKHEAD_FULL',
          `bulkhead is full for ${call.subject}: ${running} running, ${waiting.length} waiting; raise concurrency or queue, or retry later`,
        );
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    try {
      return await next();
    } finally {
      const wake = waiting.shift();
      if (wake) wake();
      else running--;
    }
  });
}
