/**
 * `courier bench`: a quick measurement of the bus at `--url`: publishes
 * `--count` messages of `--size` bytes with `--inflight` unconfirmed at once,
 * then consumes and acks them through a temporary group, and prints messages and
 * megabytes per second and the publish latency percentiles. For comparisons
 * between engines and against their own clients, see `bench/` in the
 * repository.
 */
import { randomBytes } from 'node:crypto';
import { type Bus, CourierError, newId } from '@courier/core';
import type { Command } from 'commander';
import { wholeNumber } from '../arguments.js';
import { withBus } from '../bus-session.js';
import { type CommandContext, runCommand } from '../command-context.js';
import { busOptions, type ConnectionFlags, connectionSettings, redact } from '../connection.js';
import { type CliIo, interruption, writeLine } from '../io.js';
import { startProgress } from '../progress.js';
import { renderTable } from '../table.js';

interface BenchFlags extends ConnectionFlags {
  count: number;
  size: number;
  inflight: number;
}

/** One phase's figures. */
interface Phase {
  phase: 'publish' | 'consume';
  messages: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
}

/** Consumption that makes no progress for this long is reported as stuck. */
const STALL_MS = 30_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? 0;
}

function phase(name: Phase['phase'], messages: number, size: number, ms: number): Phase {
  const seconds = ms / 1000;
  return {
    phase: name,
    messages,
    seconds: round(seconds, 3),
    msgsPerSec: Math.round(messages / seconds),
    mbPerSec: round((messages * size) / seconds / 1e6, 2),
  };
}

const interruptedError = (): CourierError =>
  new CourierError('CONNECTION_CLOSED', 'interrupted before the bench finished; no figures');

const round = (n: number, digits: number): number => Number(n.toFixed(digits));

async function publishAll(
  bus: Bus,
  options: {
    io: CliIo;
    subject: string;
    count: number;
    inflight: number;
    payload: Uint8Array;
    signal: AbortSignal;
  },
): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = [];
  const progress = startProgress(options.io.stderr, 'publishing', options.count);
  const start = performance.now();
  let next = 0;
  try {
    const lane = async (): Promise<void> => {
      while (next < options.count && !options.signal.aborted) {
        next++;
        const sent = performance.now();
        await bus.publish(options.subject, options.payload);
        latencies.push(performance.now() - sent);
        progress.increment();
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.inflight, options.count) }, lane));
  } finally {
    progress.stop();
  }
  return { ms: performance.now() - start, latencies };
}

/** Subscribes a temporary group; `done` resolves when every message was handled (and so acked). */
function consumeAll(
  bus: Bus,
  options: { io: CliIo; subject: string; count: number; inflight: number; replay: boolean },
): { done: Promise<number>; close(): Promise<void> } {
  const seen = new Set<string>();
  const progress = startProgress(options.io.stderr, 'consuming ', options.count);
  let start = performance.now();
  let lastProgress = Date.now();
  let finish: (ms: number) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const done = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => undefined); // the caller may not await it yet (no replay: consuming starts first)
  const subscription = bus.subscribe(
    options.subject,
    (_data: unknown, ctx) => {
      if (seen.has(ctx.id)) return;
      seen.add(ctx.id);
      lastProgress = Date.now();
      progress.increment();
      if (seen.size === options.count) finish(performance.now() - start);
    },
    {
      // A temporary (non-durable) group: it acks like any group and vanishes when the bench ends.
      concurrency: options.inflight,
      ...(options.replay ? { deliver: 'all' as const } : {}),
    },
  );
  subscription.ready.then(
    () => {
      if (options.replay) start = performance.now();
    },
    (error: unknown) => fail(error),
  );
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > STALL_MS) {
      fail(
        new CourierError(
          'TIMEOUT',
          `consumption stalled at ${seen.size} of ${options.count} messages for ${STALL_MS / 1000}s; check the broker's logs`,
        ),
      );
    }
  }, 1000);
  return {
    done,
    close: async () => {
      clearInterval(watchdog);
      progress.stop();
      await subscription.close({ timeout: 1000 });
    },
  };
}

/** Registers `bench`. */
export function registerBench(program: Command, context: CommandContext): void {
  busOptions(
    program
      .command('bench')
      .description(
        'measure the bus: publish, then consume and ack through a temporary group; msgs/s, MB/s, latency',
      )
      .option('--count <n>', 'messages to publish and consume', wholeNumber(1), 10_000)
      .option('--size <bytes>', 'payload size in bytes', wholeNumber(0), 1024)
      .option(
        '--inflight <n>',
        'publishes awaiting confirmation at once, and the consumer credit',
        wholeNumber(1),
        1000,
      ),
  )
    .addHelpText(
      'after',
      `
Publishes to a subject of its own (courier.bench.<id>) and consumes through a temporary group
that acks every message and vanishes when the bench ends, so it never touches your data. Publish latency is from send to durable
confirmation. On engines without replay the group subscribes first and both phases overlap.

Examples:
  courier bench
  courier bench --url nats://127.0.0.1:4222 --count 50000 --size 256 --json`,
    )
    .action(async (flags: BenchFlags) => {
      const { io } = context;
      await runCommand(context, { name: 'bench', json: flags.json === true }, async () => {
        const settings = connectionSettings(flags, io);
        const run = newId();
        const subject = `courier.bench.${run}`;
        const payload = new Uint8Array(randomBytes(flags.size));
        const stop = interruption(io);
        try {
          const phases = await withBus(settings, async (bus) => {
            const replay = bus.transport.capabilities.replay;
            const consumeOptions = {
              io,
              subject,
              count: flags.count,
              inflight: flags.inflight,
              replay,
            };
            // Without replay, a group sees only what is published after it attached.
            let consumer = replay ? undefined : consumeAll(bus, consumeOptions);
            try {
              const published = await publishAll(bus, {
                io,
                subject,
                payload,
                signal: stop.signal,
                count: flags.count,
                inflight: flags.inflight,
              });
              if (stop.signal.aborted) throw interruptedError();
              consumer ??= consumeAll(bus, consumeOptions);
              const interrupted = new Promise<never>((_, reject) =>
                stop.signal.addEventListener('abort', () => reject(interruptedError()), { once: true }),
              );
              interrupted.catch(() => undefined); // handled by the race; no unhandled rejection later
              const consumedMs = await Promise.race([consumer.done, interrupted]);
              const sorted = [...published.latencies].sort((a, b) => a - b);
              return [
                {
                  ...phase('publish', flags.count, flags.size, published.ms),
                  p50Ms: round(percentile(sorted, 50), 2),
                  p99Ms: round(percentile(sorted, 99), 2),
                },
                phase('consume', flags.count, flags.size, consumedMs),
              ];
            } finally {
              await consumer?.close();
            }
          });
          if (settings.json) {
            writeLine(
              io.stdout,
              JSON.stringify(
                { url: redact(settings.url), size: flags.size, inflight: flags.inflight, phases },
                null,
                2,
              ),
            );
          } else {
            writeLine(
              io.stdout,
              renderTable(
                phases,
                [
                  { title: 'phase', cell: (p) => p.phase },
                  { title: 'messages', cell: (p) => String(p.messages), right: true },
                  { title: 'seconds', cell: (p) => p.seconds.toFixed(2), right: true },
                  { title: 'msgs/s', cell: (p) => String(p.msgsPerSec), right: true },
                  { title: 'MB/s', cell: (p) => p.mbPerSec.toFixed(2), right: true },
                  {
                    title: 'p50 ms',
                    cell: (p) => (p.p50Ms === undefined ? '' : p.p50Ms.toFixed(2)),
                    right: true,
                  },
                  {
                    title: 'p99 ms',
                    cell: (p) => (p.p99Ms === undefined ? '' : p.p99Ms.toFixed(2)),
                    right: true,
                  },
                ],
                '',
              ),
            );
          }
          return 0;
        } finally {
          stop.dispose();
        }
      });
    });
}
