/**
 * Turns file system failures into `CourierError`s whose message says what
 * happened, to which file, and what the operator should do. A full disk is
 * `STORAGE_FULL`; anything else is `STORAGE_ERROR`. Both are retryable: the
 * failed records were not stored, so sending them again is safe.
 */
import { CourierError } from '@courier/core';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** True when `error` is a file system error meaning the disk or quota is full. */
export function isDiskFull(error: unknown): boolean {
  return FULL_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** Describes a failed storage operation for an error message. */
export interface StorageFailure {
  /** What was being done, e.g. `appending 12 records to stream orders`. */
  action: string;
  /** The file involved. */
  path: string;
  /** What the caller should know about the records (e.g. `the records were not stored`). */
  outcome: string;
}

/** Wraps a file system error as a retryable `STORAGE_FULL` or `STORAGE_ERROR`. */
export function storageError(error: unknown, failure: StorageFailure): CourierError {
  if (error instanceof CourierError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  const detail = error instanceof Error ? error.message : String(error);
  if (isDiskFull(error)) {
    return new CourierError(
      'STORAGE_FULL',
      `disk full (${code}) while ${failure.action} (${failure.path}); ${failure.outcome}. ` +
        'Free disk space or lower the stream retention limits, then retry: appends resume once space returns',
      { cause: error, data: { path: failure.path, errno: code } },
    );
  }
  return new CourierError(
    'STORAGE_ERROR',
    `storage write failed (${detail}) while ${failure.action} (${failure.path}); ${failure.outcome}. ` +
      'Check the disk and the broker log, then retry',
    { cause: error, data: { path: failure.path, errno: code } },
  );
}

/** The error for an operation on a closed log or store. */
export function closedError(what: string): CourierError {
  return new CourierError('STORAGE_ERROR', `${what} is closed; open it again to continue`, {
    retryable: false,
  });
}
