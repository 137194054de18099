/**
 * `courier sub <subject>`: prints messages on a subject or pattern as they
 * arrive, privately or as a member of a durable `--group`, until Ctrl-C,
 * `--count` messages or `--timeout`.
 */
import { assertSubject, type MessageContext } from '@courier/core';
import type { Command } from 'commander';
import { wholeNumber } from '../arguments.js';
import { withBus } from '../bus-session.js';
import { type CommandContext, runCommand } from '../command-context.js';
import { busOptions, type ConnectionFlags, connectionSettings, positiveMillis } from '../connection.js';
import { ExitCode } from '../failures.js';
import { interruption, writeLine } from '../io.js';
import { formatData, jsonData } from '../message-input.js';

interface SubFlags extends ConnectionFlags {
  group?: string;
  count?: number;
  timeout?: string;
  all?: boolean;
}

/** One received message as `--json` prints it. */
function messageJson(data: unknown, ctx: MessageContext): Record<string, unknown> {
  return {
    id: ctx.id,
    subject: ctx.subject,
    time: ctx.time.toISOString(),
    source: ctx.source,
    ...(ctx.key !== undefined ? { key: ctx.key } : {}),
    contentType: ctx.contentType,
    headers: ctx.headers,
    attempt: ctx.attempt,
    data: jsonData(data),
  };
}

/** Registers `sub`. */
export function registerSub(program: Command, context: CommandContext): void {
  busOptions(
    program
      .command('sub')
      .description(
        'print messages on a subject or pattern as they arrive, until Ctrl-C, --count or --timeout',
      )
      .argument('<subject>', "a subject or pattern: '*' matches one token, '>' the rest (orders.>)")
      .option(
        '--group <group>',
        'join a durable group: members share the work and each message is acked once printed',
      )
      .option('--count <n>', 'stop after n messages', wholeNumber(1))
      .option('--timeout <duration>', 'stop after this long (exit 1 if --count was not reached)')
      .option('--all', 'a new group (or private subscription) starts from the oldest retained message'),
  )
    .addHelpText(
      'after',
      `
Without --group the subscription is private: it sees messages published while it runs.
With --group, messages are acked as they are printed; the group keeps its place between runs.
--json prints one JSON object per line: id, subject, time, source, key, contentType, headers, attempt, data.

Examples:
  courier sub 'orders.>'
  courier sub orders.created --group audit --count 10 --json
  courier sub orders.created --all --timeout 5s`,
    )
    .action(async (subject: string, flags: SubFlags) => {
      const { io } = context;
      await runCommand(context, { name: 'sub', json: flags.json === true }, async () => {
        const settings = connectionSettings(flags, io);
        assertSubject(subject, { wildcards: true });
        const timeout = flags.timeout === undefined ? undefined : positiveMillis(flags.timeout, '--timeout');
        const wanted = flags.count;
        const stop = interruption(io);
        try {
          return await withBus(settings, async (bus) => {
            let seen = 0;
            let finished = (): void => undefined;
            const done = new Promise<void>((resolve) => {
              finished = resolve;
            });
            const subscription = bus.subscribe(
              subject,
              async (data: unknown, ctx) => {
                if (wanted !== undefined && seen >= wanted) {
                  // Past --count: never settle, so the close below hands it back to the group unacked.
                  await new Promise<never>(() => undefined);
                }
                seen++;
                if (settings.json) writeLine(io.stdout, JSON.stringify(messageJson(data, ctx)));
                else {
                  const key = ctx.key !== undefined ? ` key=${ctx.key}` : '';
                  writeLine(io.stdout, `${ctx.subject}${key}  ${formatData(data, true)}`);
                }
                if (wanted !== undefined && seen >= wanted) finished();
              },
              {
                ...(flags.group !== undefined ? { group: flags.group } : {}),
                ...(flags.all ? { deliver: 'all' as const } : {}),
              },
            );
            await subscription.ready;
            const where = flags.group !== undefined ? ` as group ${flags.group}` : '';
            writeLine(io.stderr, `listening on ${subject}${where}; Ctrl-C to stop`);
            let timer: NodeJS.Timeout | undefined;
            const timedOut = new Promise<'timeout'>((resolve) => {
              if (timeout !== undefined) timer = setTimeout(() => resolve('timeout'), timeout);
            });
            const interrupted = new Promise<'interrupted'>((resolve) => {
              if (stop.signal.aborted) resolve('interrupted');
              stop.signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
            });
            const outcome = await Promise.race([done.then(() => 'done' as const), timedOut, interrupted]);
            clearTimeout(timer);
            // Long enough for the last printed message's ack; a held one past --count is handed back.
            await subscription.close({ timeout: 1000 });
            if (outcome === 'timeout' && wanted !== undefined && seen < wanted) {
              writeLine(
                io.stderr,
                `courier sub: got ${seen} of ${wanted} messages on ${subject} within ${flags.timeout}; wait longer with --timeout`,
              );
              return ExitCode.failed;
            }
            return ExitCode.ok;
          });
        } finally {
          stop.dispose();
        }
      });
    });
}
