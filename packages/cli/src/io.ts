/**
 * Where a `courier` run reads and writes: the process's streams and
 * environment by default, or captured ones in tests, so that `run(argv, io)`
 * behaves exactly as the command does in a shell.
 */

/** A stream the CLI writes to; `isTTY` decides whether progress bars and prompts are shown. */
export type CliOutput = NodeJS.WritableStream & { isTTY?: boolean };

/** The input the CLI reads (`courier pub` data, `dlq purge` confirmation). */
export type CliInput = NodeJS.ReadableStream & { isTTY?: boolean };

/** The streams, environment and interrupt of one run. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  stdin: CliInput;
  /** Read for COURIER_URL, COURIER_ADMIN_URL and COURIER_TOKEN. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Stops long-running commands (`sub`) as Ctrl-C does. Without it, the
   * commands listen for SIGINT and SIGTERM while they run.
   */
  signal?: AbortSignal;
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Writes one line. */
export function writeLine(stream: CliOutput, line = ''): void {
  stream.write(`${line}\n`);
}

/**
 * An abort signal for "stop now": `io.signal` when given, else one fired by
 * SIGINT or SIGTERM. Call `dispose` when done, to remove the listeners.
 */
export function interruption(io: CliIo): { signal: AbortSignal; dispose(): void } {
  if (io.signal) return { signal: io.signal, dispose: () => undefined };
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Reads a stream to its end as UTF-8 text. */
export async function readAll(input: CliInput): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
