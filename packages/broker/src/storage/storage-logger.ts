/**
 * The logging seam of storage: a plain object of level functions, so the
 * broker can pass a pino child logger later and tests can collect lines.
 */

/** Structured detail attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Where storage reports recovery, retention and I/O trouble. Every method is optional. */
export interface StorageLogger {
  debug?(fields: LogFields, message: string): void;
  info?(fields: LogFields, message: string): void;
  warn?(fields: LogFields, message: string): void;
  error?(fields: LogFields, message: string): void;
}
