/**
 * What every command file gets from `main.ts`: the run's streams and a way
 * to set the exit code, plus the wrapper that turns a command's errors into
 * one clear line (or JSON) and the right exit code.
 */
import { type ExitCodeValue, reportError } from './failures.js';
import type { CliIo } from './io.js';

/** The run a command belongs to. */
export interface CommandContext {
  readonly io: CliIo;
  /** Sets the exit code of the run. */
  exit(code: number): void;
}

/**
 * Runs a command body: its result (default 0) is the exit code; an error is
 * reported on stderr (as JSON when `json`) and exits 1, or 2 for usage errors.
 */
export async function runCommand(
  context: CommandContext,
  options: { name: string; json: boolean },
  body: () => Promise<ExitCodeValue | undefined>,
): Promise<void> {
  try {
    context.exit((await body()) ?? 0);
  } catch (error) {
    context.exit(
      reportError({ stderr: context.io.stderr, command: options.name, error, json: options.json }),
    );
  }
}
