/**
 * Turns what ioredis throws into `CourierError`s: a lost or closed connection
 * is `CONNECTION_CLOSED` (retryable), anything else the server refused is
 * `INTERNAL` with the server's message.
 */
import { CourierError } from '@courier/core';

const CLOSED =
  /Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/i;

/** Wraps an ioredis failure; `CourierError`s pass through. */
export function redisError(error: unknown, what: string): CourierError {
  if (error instanceof CourierError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (CLOSED.test(message) || (error as { name?: unknown })?.name === 'MaxRetriesPerRequestError') {
    return new CourierError(
      'CONNECTION_CLOSED',
      `the connection to Redis was lost during ${what} (${message}); it is retried automatically while ioredis reconnects, so check that the server is reachable`,
      { cause: error },
    );
  }
  return new CourierError('INTERNAL', `Redis refused ${what}: ${message}`, { cause: error });
}

/** The error for operations on a closed transport. */
export function closedError(what: string): CourierError {
  return new CourierError(
    'CONNECTION_CLOSED',
    `the redis transport is closed; cannot ${what}; connect again`,
  );
}
