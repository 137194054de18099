/** The timeout middleware: a call that takes longer than its budget fails with `TIMEOUT`. */
import { type Duration, toMillis } from '../duration.js';
import { CourierError } from '../errors.js';
import { type CallKind, type Middleware, only } from './compose.js';

/**
 * Fails a call with `TIMEOUT` once it has run for `duration`. The call itself
 * is not cancelled (JavaScript cannot stop a promise); its late result is
 * ignored. Applies to every kind of call unless `kinds` says otherwise.
 */
export function timeout(duration: Duration, options: { kinds?: readonly CallKind[] } = {}): Middleware {
  const ms = toMillis(duration, 'timeout');
  return only(options.kinds ?? ['publish', 'request', 'consume', 'handle'], (call, next) => {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new CourierError('TIMEOUT', `${call.kind} on ${call.subject} took longer than ${ms} ms`));
      }, ms);
      next().then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  });
}
