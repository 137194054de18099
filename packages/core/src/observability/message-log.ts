/**
 * Structured logs through a pino-compatible logger the application passes
 * in. Every line about a message carries the same fields (messageId,
 * subject, group, attempt, traceId), so one message can be followed through
 * publishers, handlers and retries with one query.
 */
import { CourierError } from '../errors.js';

/** One level of a pino-compatible logger: an object of fields, then a message. */
export type LogFn = (fields: Record<string, unknown>, message: string) => void;

/**
 * A pino-compatible logger: a pino logger (or a child of one) fits, as do
 * most structured loggers with `(fields, message)` methods.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** When present (pino has it), lines below the level are not built at all. */
  isLevelEnabled?: (level: string) => boolean;
}

/** The fields of a line about a message. Absent values are left out of the line. */
export interface MessageFields {
  messageId: string;
  subject: string;
  group?: string | undefined;
  attempt?: number | undefined;
  traceId?: string | undefined;
}

/** The level of each line Courier writes. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

function fieldsOf(fields: MessageFields, extra: Record<string, unknown>): Record<string, unknown> {
  const line: Record<string, unknown> = { messageId: fields.messageId, subject: fields.subject };
  if (fields.group !== undefined) line['group'] = fields.group;
  if (fields.attempt !== undefined) line['attempt'] = fields.attempt;
  if (fields.traceId !== undefined) line['traceId'] = fields.traceId;
  return Object.assign(line, extra);
}

/** Writes lines about messages, skipping the work for levels the logger drops. */
export class MessageLog {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    assertLogger(logger);
    this.#logger = logger;
  }

  /** Whether lines at `level` are written. */
  enabled(level: LogLevel): boolean {
    return this.#logger.isLevelEnabled === undefined || this.#logger.isLevelEnabled(level);
  }

  /** Writes a line about a message; `error` goes in pino's conventional `err` field. */
  write(
    level: LogLevel,
    message: string,
    fields: MessageFields,
    extra: { error?: CourierError; [field: string]: unknown } = {},
  ): void {
    if (!this.enabled(level)) return;
    const { error, ...rest } = extra;
    const line = fieldsOf(fields, rest);
    if (error !== undefined) line['err'] = error;
    // A method call, so that loggers relying on `this` (pino does) keep it.
    this.#logger[level](line, message);
  }

  /** Writes an error that has no message to belong to (a failed ack, a subscription that could not attach). */
  failure(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.#logger.error({ err: error }, `courier: ${text}`);
  }
}

/**
 * Checks that a logger has the four methods.
 * @throws CourierError `INVALID_OPTION` naming what is missing.
 */
function assertLogger(logger: Logger): void {
  const missing = (['debug', 'info', 'warn', 'error'] as const).filter(
    (level) => typeof (logger as Partial<Logger> | null)?.[level] !== 'function',
  );
  if (missing.length > 0) {
    throw new CourierError(
      'INVALID_OPTION',
      `logger lacks ${missing.join(', ')}: it must have debug, info, warn and error methods taking (fields, message); pass a pino logger or one shaped like it`,
    );
  }
}
