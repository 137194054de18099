/**
 * Progress bars for long work (bench, publishing many, replaying many dead
 * letters), drawn on stderr so stdout stays clean for pipes and `--json`.
 * On anything but a terminal they draw nothing.
 */
import cliProgress from 'cli-progress';
import type { CliOutput } from './io.js';

/** A running bar: advance it, then stop it (idempotent). */
export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

/** Starts a bar of `total` steps labelled `label`, or a no-op one when stderr is not a terminal. */
export function startProgress(stderr: CliOutput, label: string, total: number): Progress {
  if (!stderr.isTTY) return { increment: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    increment: (by = 1) => bar.increment(by),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
