/**
 * `courier streams`, `courier groups` and `courier services`: the broker's
 * streams, consumer groups and live service instances, read from its HTTP
 * admin API, as tables or as the API's JSON.
 */
import { formatBytes } from '@courier/core';
import type { Command } from 'commander';
import { adminList } from '../admin-client.js';
import { type CommandContext, runCommand } from '../command-context.js';
import { adminOptions, type ConnectionFlags, connectionSettings } from '../connection.js';
import { writeLine } from '../io.js';
import { age, type Column, renderTable, show } from '../table.js';

type Row = Record<string, unknown>;

const bytes = (value: unknown): string => (typeof value === 'number' ? formatBytes(value) : show(value));

interface View {
  name: string;
  path: string;
  description: string;
  columns: Column<Row>[];
  empty: string;
  example: string;
}

const VIEWS: readonly View[] = [
  {
    name: 'streams',
    path: '/api/streams',
    description: "list the broker's streams: subjects, messages and bytes held, sequences, totals published",
    columns: [
      { title: 'name', cell: (r) => show(r['name']) },
      { title: 'subjects', cell: (r) => show(r['subjects']) },
      { title: 'messages', cell: (r) => show(r['messages']), right: true },
      { title: 'bytes', cell: (r) => bytes(r['bytes']), right: true },
      { title: 'first', cell: (r) => show(r['firstSeq']), right: true },
      { title: 'last', cell: (r) => show(r['lastSeq']), right: true },
      { title: 'published', cell: (r) => show(r['published']), right: true },
    ],
    empty: 'no streams',
    example: 'courier streams --admin http://broker:4271',
  },
  {
    name: 'groups',
    path: '/api/groups',
    description:
      'list consumer groups: members, pending (lag), outstanding (unacked), redelivered and dead letters',
    columns: [
      { title: 'group', cell: (r) => show(r['group']) },
      { title: 'subject', cell: (r) => show(r['subject']) },
      {
        title: 'durable',
        cell: (r) => (r['durable'] === false ? 'no' : r['durable'] === true ? 'yes' : '-'),
      },
      { title: 'members', cell: (r) => show(r['members']), right: true },
      { title: 'pending', cell: (r) => show(r['pending']), right: true },
      { title: 'outstanding', cell: (r) => show(r['outstanding']), right: true },
      { title: 'acked', cell: (r) => show(r['acked']), right: true },
      { title: 'redelivered', cell: (r) => show(r['redelivered']), right: true },
      { title: 'dead', cell: (r) => show(r['deadLetters']), right: true },
    ],
    empty: 'no groups',
    example: 'courier groups --json | jq ".[] | select(.pending > 1000)"',
  },
  {
    name: 'services',
    path: '/api/services',
    description:
      'list live service instances: version, address, uptime, the subjects they handle, subscribe to and call',
    columns: [
      { title: 'service', cell: (r) => show(r['service']) },
      { title: 'instance', cell: (r) => show(r['instance']) },
      { title: 'version', cell: (r) => show(r['version']) },
      { title: 'address', cell: (r) => show(r['address']) },
      { title: 'up', cell: (r) => age(r['since']), right: true },
      { title: 'handlers', cell: (r) => show(r['handlers']) },
      { title: 'subscriptions', cell: (r) => show(r['subscriptions']) },
      { title: 'requests', cell: (r) => show(r['requests']) },
    ],
    empty: 'no services connected',
    example: 'courier services --token "$COURIER_TOKEN"',
  },
];

/** Registers `streams`, `groups` and `services`. */
export function registerAdminViews(program: Command, context: CommandContext): void {
  for (const view of VIEWS) {
    adminOptions(program.command(view.name).description(view.description))
      .addHelpText(
        'after',
        `\nReads GET ${view.path} from the broker's HTTP port. --json prints the API's JSON as is.\n\nExample:\n  ${view.example}`,
      )
      .action(async (flags: ConnectionFlags) => {
        await runCommand(context, { name: view.name, json: flags.json === true }, async () => {
          const settings = connectionSettings(flags, context.io);
          const rows = await adminList(settings, view.path);
          if (settings.json) writeLine(context.io.stdout, JSON.stringify(rows, null, 2));
          else writeLine(context.io.stdout, renderTable(rows, view.columns, view.empty));
          return 0;
        });
      });
  }
}
