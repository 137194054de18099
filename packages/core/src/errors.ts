/**
 * The one error type of Courier. Every failure that crosses an API or the
 * wire is a `CourierError` with a stable `code`; codes are never reused once
 * retired, and each is explained in `docs/errors.md` (a test keeps the two in
 * step).
 */

/**
 * Every error code, with whether an operation that failed with it may succeed
 * when tried again unchanged.
 */
export const ErrorCodes = {
  /** A request or operation did not finish within its deadline. */
  TIMEOUT: { retryable: true },
  /** A request found no handler for its subject. */
  NO_RESPONDERS: { retryable: true },
  /** Data failed its contract's schema. */
  INVALID_MESSAGE: { retryable: false },
  /** A subject or subject pattern is malformed. */
  INVALID_SUBJECT: { retryable: false },
  /** An option has a wrong type or value (a malformed duration, a negative count). */
  INVALID_OPTION: { retryable: false },
  /** A connection URL is malformed or names an unknown scheme. */
  INVALID_URL: { retryable: false },
  /** An encoded message is larger than the engine accepts. */
  PAYLOAD_TOO_LARGE: { retryable: false },
  /** A payload could not be encoded or decoded with its content type. */
  CODEC_ERROR: { retryable: false },
  /** The credentials were missing or wrong, or do not allow this subject or operation. */
  UNAUTHORIZED: { retryable: false },
  /** The connection or bus is closed, or was lost before the operation finished. */
  CONNECTION_CLOSED: { retryable: true },
  /** The engine cannot do what was asked and the Bus cannot fill the gap. */
  UNSUPPORTED: { retryable: false },
  /** The transport package for a URL scheme is not installed. */
  TRANSPORT_NOT_INSTALLED: { retryable: false },
  /** A request handler threw something that was not a `CourierError`. */
  HANDLER_ERROR: { retryable: false },
  /** A circuit breaker is open and refuses calls until it resets. */
  CIRCUIT_OPEN: { retryable: true },
  /** A bulkhead has no free slot and no room in its queue. */
  BULKHEAD_FULL: { retryable: true },
  /** A stream reached its limit and is configured to refuse new messages. */
  STREAM_FULL: { retryable: true },
  /** The disk is full; appends fail until space returns. */
  STORAGE_FULL: { retryable: true },
  /** A storage read or write failed. */
  STORAGE_ERROR: { retryable: true },
  /** A peer sent bytes that break the wire protocol: a malformed, truncated or oversized frame. */
  PROTOCOL_ERROR: { retryable: false },
  /** A named item (dead letter, group, stream) does not exist. */
  NOT_FOUND: { retryable: false },
  /** A bug or an unexpected condition inside Courier. */
  INTERNAL: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ErrorCodes;

/** The serialisable form of a `CourierError`, as it crosses the wire. */
export interface WireError {
  code: string;
  message: string;
  retryable: boolean;
  data?: unknown;
}

/** Options for {@link CourierError}. */
export interface CourierErrorOptions {
  /** Extra structured detail for the caller (schema issues, limits). Must be serialisable. */
  data?: unknown;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
  /** The underlying error. Never sent over the wire. */
  cause?: unknown;
}

/**
 * An error with a stable code. `code` is typed as `ErrorCode` for errors
 * raised here, and widened to `string` for codes that came from a newer peer.
 */
export class CourierError extends Error {
  override readonly name = 'CourierError';
  readonly code: ErrorCode | (string & {});
  readonly retryable: boolean;
  readonly data: unknown;

  constructor(code: ErrorCode | (string & {}), message: string, options: CourierErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable =
      options.retryable ?? (ErrorCodes as Record<string, { retryable: boolean }>)[code]?.retryable ?? false;
    this.data = options.data;
  }

  /** The wire form: code, message, retryable and data; never the stack or the cause. */
  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.data !== undefined) wire.data = this.data;
    return wire;
  }

  /** Rebuilds an error from its wire form; tolerates missing or mistyped fields from foreign peers. */
  static fromWire(wire: unknown): CourierError {
    if (typeof wire !== 'object' || wire === null) {
      return new CourierError('INTERNAL', `malformed error from peer: ${String(wire)}`);
    }
    const w = wire as Partial<Record<keyof WireError, unknown>>;
    const code = typeof w.code === 'string' && w.code !== '' ? w.code : 'INTERNAL';
    const message = typeof w.message === 'string' ? w.message : `peer reported ${code}`;
    const options: CourierErrorOptions = {};
    if (typeof w.retryable === 'boolean') options.retryable = w.retryable;
    if (w.data !== undefined) options.data = w.data;
    return new CourierError(code, message, options);
  }

  /** True when `error` is a `CourierError`, optionally with the given code. */
  static is(error: unknown, code?: ErrorCode): error is CourierError {
    return error instanceof CourierError && (code === undefined || error.code === code);
  }
}

/**
 * Turns anything thrown into a `CourierError`: a `CourierError` passes
 * through, anything else becomes `fallback` with the original message and
 * the original as `cause`.
 */
export function toCourierError(error: unknown, fallback: ErrorCode = 'INTERNAL'): CourierError {
  if (error instanceof CourierError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CourierError(fallback, message, { cause: error });
}
