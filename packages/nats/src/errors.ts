/**
 * NATS client errors as `CourierError`s, so that callers see Courier's
 * stable codes (`TIMEOUT`, `NO_RESPONDERS`, `CONNECTION_CLOSED`, ...) and
 * never a class of the client library.
 */
import { CourierError } from '@courier/core';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import {
  AuthorizationError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  InvalidSubjectError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  UserAuthenticationExpiredError,
} from '@nats-io/nats-core';

/** Whether an error means that the request may succeed once the connection or JetStream is back. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  if (error instanceof RequestError) return error.isNoResponders() || error.cause instanceof TimeoutError;
  // The client reports "no responders on the JetStream API" as JetStream not being enabled.
  if (error instanceof JetStreamError && /not enabled/.test(error.message)) return true;
  return error instanceof ConnectionError;
}

/**
 * The `CourierError` for an error of the NATS client.
 * @param what what was being done, for the message: `publish to orders.created`.
 */
export function fromNatsError(error: unknown, what: string): CourierError {
  if (error instanceof CourierError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const wrap = (code: string, message: string, data?: unknown): CourierError =>
    new CourierError(code, message, data === undefined ? { cause: error } : { cause: error, data });
  if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError)
    return wrap('CONNECTION_CLOSED', `${what} failed: the NATS connection is closed`);
  if (error instanceof InvalidSubjectError)
    return wrap(
      'INVALID_SUBJECT',
      `${what} failed: ${reason}; NATS subjects are dot-separated tokens without whitespace`,
    );
  if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError))
    return wrap(
      'TIMEOUT',
      `${what} timed out waiting for the NATS server; is it reachable and JetStream enabled?`,
    );
  if (error instanceof RequestError && error.isNoResponders())
    return wrap('NO_RESPONDERS', `${what} found no responders`);
  if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError)
    return wrap('UNAUTHORIZED', `${what} was refused by the NATS server: ${reason}; check the credentials`);
  if (error instanceof PermissionViolationError)
    return wrap(
      'UNAUTHORIZED',
      `${what} was refused by the NATS server: ${reason}; check the user's permissions`,
    );
  if (error instanceof ConnectionError)
    return wrap('CONNECTION_CLOSED', `${what} failed: ${reason}; is nats-server running and reachable?`);
  if (error instanceof JetStreamApiError) {
    const data = { status: error.status, errCode: error.code };
    if (/maximum (messages|bytes|messages per subject) exceeded/i.test(reason))
      return wrap(
        'STREAM_FULL',
        `${what} was refused: ${reason}; raise the stream's limits or let consumers catch up`,
        data,
      );
    if (/insufficient resources|storage/i.test(reason))
      return wrap('STORAGE_FULL', `${what} was refused: ${reason}; free space on the NATS server`, data);
    return wrap('INTERNAL', `${what} was refused by JetStream: ${reason}`, data);
  }
  return wrap('INTERNAL', `${what} failed: ${reason}`);
}
