/**
 * `courier dlq list|show|replay|purge --group G`: a group's dead letters,
 * through the bus transport's dead-letter store, so it works on every
 * engine that declares the `deadLetter` capability.
 */
import { createInterface } from 'node:readline/promises';
import { type Bus, CourierError, type DeadLetterEntry } from '@courier/core';
import { type Command, Option } from 'commander';
import { wholeNumber } from '../arguments.js';
import { withBus } from '../bus-session.js';
import { type CommandContext, runCommand } from '../command-context.js';
import { busOptions, type ConnectionFlags, connectionSettings } from '../connection.js';
import { ExitCode, usageError } from '../failures.js';
import { type CliIo, writeLine } from '../io.js';
import { formatData, jsonData } from '../message-input.js';
import { startProgress } from '../progress.js';
import { age, renderTable } from '../table.js';

interface DlqFlags extends ConnectionFlags {
  group: string;
  limit?: number;
  yes?: boolean;
}

/** Ids replayed or purged per call, so a progress bar can move on big queues. */
const BATCH = 100;

function entryJson(entry: DeadLetterEntry): Record<string, unknown> {
  return {
    id: entry.id,
    group: entry.group,
    subject: entry.message.subject,
    error: { code: entry.error.code, message: entry.error.message },
    attempts: entry.attempts,
    time: entry.time.toISOString(),
    ...(entry.message.key !== undefined ? { key: entry.message.key } : {}),
    source: entry.message.source,
    contentType: entry.message.contentType,
    headers: entry.message.headers,
    data: jsonData(entry.data),
  };
}

/** The group's dead letters with these ids, or NOT_FOUND naming those that are not there. */
async function pick(bus: Bus, group: string, ids: readonly string[]): Promise<string[]> {
  const all = await bus.deadLetters.list(group);
  if (ids.length === 0) return all.map((entry) => entry.id);
  const present = new Set(all.map((entry) => entry.id));
  const missing = ids.filter((id) => !present.has(id));
  if (missing.length > 0) {
    throw new CourierError(
      'NOT_FOUND',
      `no dead letter ${missing.join(', ')} in group ${group}; nothing was changed. See the ids with: courier dlq list --group ${group}`,
      { data: { group, missing } },
    );
  }
  return [...new Set(ids)];
}

/** Runs `action` over ids in batches, with a progress bar when there are many; returns the total it reports. */
async function inBatches(
  io: CliIo,
  label: string,
  ids: readonly string[],
  action: (batch: readonly string[]) => Promise<number>,
): Promise<number> {
  const progress = ids.length > BATCH ? startProgress(io.stderr, label, ids.length) : undefined;
  let done = 0;
  try {
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      done += await action(batch);
      progress?.increment(batch.length);
    }
  } finally {
    progress?.stop();
  }
  return done;
}

async function confirm(io: CliIo, question: string): Promise<boolean> {
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

function groupOption(): Option {
  return new Option('--group <group>', 'the consumer group whose dead letters to use').makeOptionMandatory();
}

/** Registers `dlq` and its subcommands. */
export function registerDlq(program: Command, context: CommandContext): void {
  const { io } = context;
  const dlq = program
    .command('dlq')
    .description('list, show, replay or purge the dead letters of a consumer group')
    .addHelpText(
      'after',
      `
Dead letters are messages a group failed to handle after its last retry, kept with the error.
Replay sends them back to that group only (attempts counted afresh); purge deletes them.

Examples:
  courier dlq list --group billing
  courier dlq show --group billing 01890a5d-ac96-774b-bcce-b302099a8057
  courier dlq replay --group billing
  courier dlq purge --group billing --yes`,
    );

  busOptions(
    dlq
      .command('list')
      .description("list a group's dead letters, oldest first")
      .addOption(groupOption())
      .option('--limit <n>', 'show at most n (default 100)', wholeNumber(1)),
  ).action(async (flags: DlqFlags) => {
    await runCommand(context, { name: 'dlq list', json: flags.json === true }, async () => {
      const settings = connectionSettings(flags, io);
      const limit = flags.limit ?? 100;
      const entries = await withBus(settings, (bus) => bus.deadLetters.list(flags.group, { limit }));
      if (settings.json) {
        writeLine(io.stdout, JSON.stringify(entries.map(entryJson), null, 2));
        return 0;
      }
      const table = renderTable(
        entries,
        [
          { title: 'id', cell: (e) => e.id },
          { title: 'subject', cell: (e) => e.message.subject },
          { title: 'attempts', cell: (e) => String(e.attempts), right: true },
          { title: 'age', cell: (e) => age(e.time.getTime()), right: true },
          { title: 'error', cell: (e) => `${e.error.code}: ${e.error.message}` },
          { title: 'data', cell: (e) => formatData(e.data, true) },
        ],
        `no dead letters in group ${flags.group}`,
      );
      writeLine(io.stdout, table);
      if (entries.length === limit) {
        writeLine(io.stderr, `showing the first ${limit}; see more with --limit`);
      }
      return 0;
    });
  });

  busOptions(
    dlq
      .command('show')
      .description('show one dead letter in full: error, attempts, headers and data')
      .argument('<id>', 'the message id, as dlq list shows it')
      .addOption(groupOption()),
  ).action(async (id: string, flags: DlqFlags) => {
    await runCommand(context, { name: 'dlq show', json: flags.json === true }, async () => {
      const settings = connectionSettings(flags, io);
      const entries = await withBus(settings, (bus) => bus.deadLetters.list(flags.group));
      const entry = entries.find((e) => e.id === id);
      if (!entry) {
        throw new CourierError(
          'NOT_FOUND',
          `no dead letter ${id} in group ${flags.group}; see the ids with: courier dlq list --group ${flags.group}`,
          { data: { group: flags.group, id } },
        );
      }
      if (settings.json) {
        writeLine(io.stdout, JSON.stringify(entryJson(entry), null, 2));
        return 0;
      }
      const lines = [
        ['id', entry.id],
        ['group', entry.group],
        ['subject', entry.message.subject],
        ['error', `${entry.error.code}: ${entry.error.message}`],
        ['attempts', String(entry.attempts)],
        ['dead since', `${entry.time.toISOString()} (${age(entry.time.getTime())} ago)`],
        ['published', entry.message.time.toISOString()],
        ['source', entry.message.source],
        ...(entry.message.key !== undefined ? [['key', entry.message.key]] : []),
        ['content type', entry.message.contentType],
        ...Object.entries(entry.message.headers).map(([name, value]) => [`header ${name}`, value]),
      ];
      const width = Math.max(...lines.map(([name]) => (name ?? '').length)) + 2;
      for (const [name, value] of lines) writeLine(io.stdout, `${`${name}:`.padEnd(width)}${value}`);
      writeLine(io.stdout, 'data:');
      writeLine(io.stdout, formatData(entry.data));
      return 0;
    });
  });

  busOptions(
    dlq
      .command('replay')
      .description('deliver dead letters to their group again: those with the ids given, or all of them')
      .argument('[ids...]', 'message ids (default: every dead letter of the group)')
      .addOption(groupOption()),
  ).action(async (ids: string[], flags: DlqFlags) => {
    await runCommand(context, { name: 'dlq replay', json: flags.json === true }, async () => {
      const settings = connectionSettings(flags, io);
      const replayed = await withBus(settings, async (bus) => {
        const chosen = await pick(bus, flags.group, ids);
        return inBatches(io, 'replaying', chosen, (batch) =>
          bus.deadLetters.replay(flags.group, { ids: batch }),
        );
      });
      if (settings.json) writeLine(io.stdout, JSON.stringify({ group: flags.group, replayed }));
      else
        writeLine(
          io.stdout,
          `replayed ${replayed} dead letter${replayed === 1 ? '' : 's'} to group ${flags.group}`,
        );
      return 0;
    });
  });

  busOptions(
    dlq
      .command('purge')
      .description('delete dead letters for good: those with the ids given, or all of the group')
      .argument('[ids...]', 'message ids (default: every dead letter of the group)')
      .addOption(groupOption())
      .option('--yes', 'do not ask for confirmation (needed when stdin is not a terminal)'),
  ).action(async (ids: string[], flags: DlqFlags) => {
    await runCommand(context, { name: 'dlq purge', json: flags.json === true }, async () => {
      const settings = connectionSettings(flags, io);
      const result = await withBus(settings, async (bus) => {
        const chosen = await pick(bus, flags.group, ids);
        if (chosen.length === 0) return 0;
        if (!flags.yes) {
          const question = `delete ${chosen.length} dead letter${chosen.length === 1 ? '' : 's'} of group ${flags.group} for good?`;
          if (!io.stdin.isTTY) {
            throw usageError(`${question} Add --yes to confirm (stdin is not a terminal to ask)`);
          }
          if (!(await confirm(io, question))) return 'declined' as const;
        }
        return inBatches(io, 'purging', chosen, (batch) =>
          bus.deadLetters.purge(flags.group, { ids: batch }),
        );
      });
      if (result === 'declined') {
        writeLine(io.stderr, 'nothing deleted');
        return ExitCode.failed;
      }
      if (settings.json) writeLine(io.stdout, JSON.stringify({ group: flags.group, purged: result }));
      else
        writeLine(
          io.stdout,
          `purged ${result} dead letter${result === 1 ? '' : 's'} of group ${flags.group}`,
        );
      return 0;
    });
  });
}
