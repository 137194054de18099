/**
 * `courier pub <subject> [data]`: publishes a message (or `--count` copies)
 * and prints its id once the engine holds it durably.
 */
import { assertSubject, toMillis } from '@courier/core';
import type { Command } from 'commander';
import { wholeNumber } from '../arguments.js';
import { withBus } from '../bus-session.js';
import { type CommandContext, runCommand } from '../command-context.js';
import { busOptions, type ConnectionFlags, connectionSettings } from '../connection.js';
import { writeLine } from '../io.js';
import { collectHeader, readData } from '../message-input.js';
import { startProgress } from '../progress.js';

interface PubFlags extends ConnectionFlags {
  key?: string;
  delay?: string;
  header?: Record<string, string>;
  count?: number;
}

/** Registers `pub`. */
export function registerPub(program: Command, context: CommandContext): void {
  busOptions(
    program
      .command('pub')
      .description('publish a message to a subject; prints its id once the broker holds it durably')
      .argument('<subject>', 'the subject, such as orders.created (no wildcards)')
      .argument('[data]', 'the data: JSON when it parses as JSON, else text; read from stdin when left out')
      .option('--key <key>', 'ordering key: messages with one key are handled one at a time, in order')
      .option('--delay <duration>', 'not delivered before this long, such as 30s or 5m')
      .option('--header <name=value>', 'a header, repeatable', collectHeader)
      .option('--count <n>', 'publish n copies (each its own id), with a progress bar', wholeNumber(1)),
  )
    .addHelpText(
      'after',
      `
Prints the message id (with --count, how many were published; --json prints the ids).

Examples:
  courier pub orders.created '{"id":"o-1","total":42}'
  echo 'hello' | courier pub greetings.en
  courier pub orders.created '{"id":"o-2"}' --key o-2 --header tenant=acme --delay 10s
  courier pub load.test '{"n":1}' --count 10000`,
    )
    .action(async (subject: string, argument: string | undefined, flags: PubFlags) => {
      const { io } = context;
      await runCommand(context, { name: 'pub', json: flags.json === true }, async () => {
        const settings = connectionSettings(flags, io);
        // Checked before connecting: a typo should not wait for a broker.
        assertSubject(subject, { wildcards: false });
        const delay = flags.delay === undefined ? undefined : toMillis(flags.delay, '--delay');
        const { data, codec } = await readData(argument, io.stdin, 'pub');
        const count = flags.count ?? 1;
        const options = {
          codec,
          ...(flags.key !== undefined ? { key: flags.key } : {}),
          ...(delay !== undefined ? { delay } : {}),
          ...(flags.header !== undefined ? { headers: flags.header } : {}),
        };
        const ids = await withBus(settings, async (bus) => {
          if (count === 1) return [(await bus.publish(subject, data, options)).id];
          const published: string[] = [];
          const progress = startProgress(io.stderr, 'publishing', count);
          try {
            // A window of publishes in flight: the broker confirms them in batches.
            let next = 0;
            const lane = async (): Promise<void> => {
              while (next < count) {
                next++;
                published.push((await bus.publish(subject, data, options)).id);
                progress.increment();
              }
            };
            await Promise.all(Array.from({ length: Math.min(count, 256) }, lane));
          } finally {
            progress.stop();
          }
          return published;
        });
        if (settings.json) {
          writeLine(io.stdout, JSON.stringify(count === 1 ? { id: ids[0] } : { subject, count, ids }));
        } else if (count === 1) {
          writeLine(io.stdout, ids[0]);
        } else {
          writeLine(io.stdout, `published ${ids.length} messages to ${subject}`);
        }
        return 0;
      });
    });
}
