/**
 * Commands typed into the launcher's terminal, to play with the shop while
 * it runs: stop a service, let work pile up, start it again with other
 * settings, and watch the engine deliver what it kept.
 */
import { CourierError } from '@courier/core';

/** A parsed command. */
export type ShopCommand =
  | { kind: 'start' | 'stop' | 'restart'; names: string[]; env: Record<string, string> }
  | { kind: 'status' }
  | { kind: 'help' }
  | { kind: 'quit' };

/** What `help` prints. */
export const COMMAND_HELP = [
  'stop <service>                      stop a service (inventory means both instances)',
  'start <service> [VAR=value ...]     start it again, e.g. start billing BILLING_FAIL_RATE=0',
  'restart <service> [VAR=value ...]   both, e.g. restart billing BILLING_FAIL_RATE=1',
  'status                              the processes and their pids',
  'quit                                stop everything, as Ctrl-C does',
];

/**
 * Parses one line. Service names may be a prefix shared by instances
 * (`inventory` for `inventory-1` and `inventory-2`).
 * @returns undefined for an empty line.
 * @throws CourierError `INVALID_OPTION` for anything else, saying what is understood.
 */
export function parseCommand(line: string, services: readonly string[]): ShopCommand | undefined {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const [verb, name, ...rest] = words;
  if (verb === undefined) return undefined;
  if (verb === 'status' || verb === 'ps') return { kind: 'status' };
  if (verb === 'help' || verb === '?') return { kind: 'help' };
  if (verb === 'quit' || verb === 'exit') return { kind: 'quit' };
  if (verb !== 'start' && verb !== 'stop' && verb !== 'restart') {
    throw new CourierError(
      'INVALID_OPTION',
      `unknown command ${JSON.stringify(verb)}; type help for the commands`,
    );
  }
  if (name === undefined) {
    throw new CourierError('INVALID_OPTION', `${verb} needs a service: ${services.join(', ')}`);
  }
  const names = services.includes(name) ? [name] : services.filter((s) => s.startsWith(`${name}-`));
  if (names.length === 0) {
    throw new CourierError('INVALID_OPTION', `no service ${name}; the services are ${services.join(', ')}`);
  }
  const env: Record<string, string> = {};
  for (const pair of rest) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match?.[1] || match[2] === undefined) {
      throw new CourierError(
        'INVALID_OPTION',
        `${JSON.stringify(pair)} is not an environment variable setting; write NAME=value, e.g. BILLING_FAIL_RATE=1`,
      );
    }
    env[match[1]] = match[2];
  }
  if (verb === 'stop' && rest.length > 0) {
    throw new CourierError('INVALID_OPTION', 'stop takes a service only; settings go with start or restart');
  }
  return { kind: verb, names, env };
}
