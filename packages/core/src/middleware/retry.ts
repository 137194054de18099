/** The retry middleware: retries a failed call in process with backoff. */
import { CourierError } from '../errors.js';
import { type RetryOptions, retryPolicy } from '../retry-policy.js';
import { type CallKind, type Middleware, only } from './compose.js';

/** Options for {@link retry}. */
export interface RetryMiddlewareOptions extends RetryOptions {
  /** Which calls to retry. Default publish and request (subscriptions retry through the engine). */
  kinds?: readonly CallKind[];
  /** Which errors to retry. Default: `CourierError`s marked `retryable`. */
  shouldRetry?: (error: unknown) => boolean;
}

/** Retries failed calls up to `attempts` in all, waiting by the backoff in between. */
export function retry(options: RetryMiddlewareOptions = {}): Middleware {
  const policy = retryPolicy(options);
  const shouldRetry = options.shouldRetry ?? ((error) => error instanceof CourierError && error.retryable);
  return only(options.kinds ?? ['publish', 'request'], async (_call, next) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await next();
      } catch (error) {
        if (attempt >= policy.attempts || !shouldRetry(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, policy.delayAfter(attempt)));
      }
    }
  });
}
