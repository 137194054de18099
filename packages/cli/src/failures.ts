/**
 * Exit codes and error output. 0: done; 1: the operation failed (broker
 * unreachable, refused token, no responders, unknown dead letter); 2: the
 * command line was wrong (unknown command or option, malformed subject,
 * duration or URL). Errors are one line on stderr that says what to do, or
 * `{"error":{code,message}}` with `--json`.
 */
import { CourierError, toCourierError } from '@courier/core';
import { type CliOutput, writeLine } from './io.js';

/** The exit codes of `courier`. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Codes that mean the command line itself was wrong, whichever layer noticed. */
const USAGE_CODES: ReadonlySet<string> = new Set(['INVALID_OPTION', 'INVALID_SUBJECT', 'INVALID_URL']);

/** A usage error: the command line is wrong. Exit code 2. */
export function usageError(message: string): CourierError {
  return new CourierError('INVALID_OPTION', message);
}

/**
 * An error that came back from the other side (a request handler's error):
 * whatever its code, the command line was fine and the operation failed.
 */
export class OperationFailure extends Error {
  override readonly name = 'OperationFailure';
  readonly error: CourierError;

  constructor(error: CourierError, message: string) {
    super(message, { cause: error });
    this.error = error;
  }
}

/** The exit code for an error a command threw. */
export function exitCodeFor(error: unknown): ExitCodeValue {
  return error instanceof CourierError && USAGE_CODES.has(error.code) ? ExitCode.usage : ExitCode.failed;
}

/** Writes an error for `command` to stderr and returns its exit code. */
export function reportError(options: {
  stderr: CliOutput;
  command: string;
  error: unknown;
  json: boolean;
}): ExitCodeValue {
  if (options.error instanceof OperationFailure) {
    const { error, message } = options.error;
    if (options.json) writeLine(options.stderr, JSON.stringify({ error: { code: error.code, message } }));
    else writeLine(options.stderr, `courier ${options.command}: ${message} [${error.code}]`);
    return ExitCode.failed;
  }
  const error = toCourierError(options.error);
  if (options.json) {
    writeLine(options.stderr, JSON.stringify({ error: { code: error.code, message: error.message } }));
  } else {
    writeLine(options.stderr, `courier ${options.command}: ${error.message} [${error.code}]`);
  }
  return exitCodeFor(error);
}
