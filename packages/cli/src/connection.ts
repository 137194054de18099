/**
 * The options every bus and admin command shares (`--url`, `--admin`,
 * `--token`, `--connect-timeout`, `--json`), how they fall back to the
 * environment, and connecting a Bus with a deadline so that a broker that is
 * down gives a clear error within seconds instead of a hang.
 */
import { type Bus, CourierError, connect, toCourierError, toMillis } from '@courier/core';
import type { Command } from 'commander';
import { usageError } from './failures.js';
import { type CliIo, type CliOutput, writeLine } from './io.js';

/** The default bus URL: the broker on this machine. */
export const DEFAULT_URL = 'courier://127.0.0.1:4270';
/** The default admin API: the broker's HTTP port on this machine. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:4271';
const DEFAULT_CONNECT_TIMEOUT = 5000;

/** Flags as commander parses them. */
export interface ConnectionFlags {
  url?: string;
  admin?: string;
  token?: string;
  connectTimeout?: string;
  json?: boolean;
}

/** Resolved connection settings: flags win over the environment, which wins over the defaults. */
export interface ConnectionSettings {
  url: string;
  admin: string;
  token: string | undefined;
  /** Milliseconds to wait for the broker (or the admin API) to answer. */
  connectTimeout: number;
  json: boolean;
  /** Where errors with no command to fail go (a connection lost while `sub` listens). */
  stderr: CliOutput;
}

/** Adds `--url`, `--token`, `--connect-timeout` and `--json` to a command that talks to the bus. */
export function busOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      `the bus: courier://, couriers:// (TLS), courier+ws://, nats://, amqp://, redis://, kafka://, stomp://, amqp10:// [env COURIER_URL] (default ${DEFAULT_URL})`,
    )
    .option(
      '--token <token>',
      'the broker token, for Courier brokers with auth (courier://, couriers://, courier+ws://) [env COURIER_TOKEN]',
    )
    .option('--connect-timeout <duration>', 'give up connecting after this long (default 5s)')
    .option('--json', 'machine-readable output: JSON instead of tables and text');
}

/** Adds `--admin`, `--token`, `--connect-timeout` and `--json` to a command that reads the HTTP admin API. */
export function adminOptions(command: Command): Command {
  return command
    .option(
      '--admin <url>',
      `the broker's HTTP admin API [env COURIER_ADMIN_URL] (default ${DEFAULT_ADMIN_URL})`,
    )
    .option('--token <token>', 'the broker token, when it has auth [env COURIER_TOKEN]')
    .option('--connect-timeout <duration>', 'give up waiting for the broker after this long (default 5s)')
    .option('--json', 'machine-readable output: JSON instead of tables');
}

/** Resolves the connection settings of a command. */
export function connectionSettings(
  flags: ConnectionFlags,
  io: Pick<CliIo, 'env' | 'stderr'>,
): ConnectionSettings {
  const { env } = io;
  const nonEmpty = (value: string | undefined): string | undefined =>
    value === undefined || value === '' ? undefined : value;
  return {
    url: nonEmpty(flags.url) ?? nonEmpty(env['COURIER_URL']) ?? DEFAULT_URL,
    admin: nonEmpty(flags.admin) ?? nonEmpty(env['COURIER_ADMIN_URL']) ?? DEFAULT_ADMIN_URL,
    token: nonEmpty(flags.token) ?? nonEmpty(env['COURIER_TOKEN']),
    connectTimeout:
      flags.connectTimeout === undefined
        ? DEFAULT_CONNECT_TIMEOUT
        : positiveMillis(flags.connectTimeout, '--connect-timeout'),
    json: flags.json === true,
    stderr: io.stderr,
  };
}

/** A duration flag (`500ms`, `2s`, `1m`) as positive milliseconds, or a usage error. */
export function positiveMillis(value: string, flag: string): number {
  let ms: number;
  try {
    ms = toMillis(value, flag);
  } catch {
    throw usageError(`${flag} must be a duration such as 500ms, 2s or 1m, got ${JSON.stringify(value)}`);
  }
  if (ms <= 0) throw usageError(`${flag} must be longer than zero, got ${JSON.stringify(value)}`);
  return ms;
}

/** The URL with credentials hidden, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    if (parsed.username !== '') parsed.username = '***';
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

/** The schemes of Courier's own broker, whose token travels as the URL's user. */
const COURIER_SCHEMES: ReadonlySet<string> = new Set([
  'courier:',
  'couriers:',
  'courier+ws:',
  'courier+wss:',
]);

/** The bus URL with the token in it, for Courier brokers (the token travels as the URL's user). */
function urlWithToken(settings: ConnectionSettings): string {
  if (settings.token === undefined) return settings.url;
  let parsed: URL;
  try {
    parsed = new URL(settings.url);
  } catch {
    return settings.url; // connect() explains a malformed URL
  }
  if (!COURIER_SCHEMES.has(parsed.protocol)) return settings.url;
  if (parsed.username !== '' || parsed.password !== '') return settings.url; // the URL's own token wins
  parsed.username = encodeURIComponent(settings.token);
  return parsed.href;
}

/**
 * Connects a Bus for the CLI, failing within `connectTimeout` with a message
 * that names the URL and says how to fix it.
 */
export async function openBus(settings: ConnectionSettings): Promise<Bus> {
  const shown = redact(settings.url);
  const connecting = connect(urlWithToken(settings), {
    service: 'courier-cli',
    transport: { service: 'courier-cli' },
    // A background error (the engine's connection lost and retried) fails no command: one line on stderr.
    onError: (error) => warn(settings, error),
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CourierError(
            'TIMEOUT',
            `no answer from ${shown} within ${settings.connectTimeout} ms; is the broker running there? start one with \`courier broker\`, or point --url (COURIER_URL) at a running one`,
          ),
        ),
      settings.connectTimeout,
    );
  });
  try {
    return await Promise.race([connecting, deadline]);
  } catch (error) {
    // A connection that completes after the deadline is closed, not leaked.
    connecting.then((bus) => bus.close({ timeout: 0 })).catch(() => undefined);
    throw explainConnectError(error, shown);
  } finally {
    clearTimeout(timer);
  }
}

function warn(settings: ConnectionSettings, error: unknown): void {
  const { code, message } = toCourierError(error);
  writeLine(
    settings.stderr,
    settings.json ? JSON.stringify({ warning: { code, message } }) : `courier: ${message} [${code}]`,
  );
}

function explainConnectError(error: unknown, shown: string): unknown {
  const cause = error instanceof CourierError ? error : undefined;
  const message = (error instanceof Error ? error.message : String(error)).replace(/[.;]\s*$/, '');
  if (cause?.code === 'UNAUTHORIZED' || cause?.code === 'FORBIDDEN') {
    return new CourierError(
      cause.code,
      `${shown} refused the connection: ${message}; pass the broker's token with --token or COURIER_TOKEN`,
      { cause: error },
    );
  }
  if (cause && cause.code !== 'CONNECTION_CLOSED' && cause.code !== 'INTERNAL') return error;
  // The courier:// client already names the address; other engines' errors may not.
  const what = message.includes(hostOf(shown)) ? message : `cannot connect to ${shown} (${message})`;
  return new CourierError(
    'CONNECTION_CLOSED',
    what.endsWith('?') ? `${what} ${capitalized(advice(shown))}` : `${what}; ${advice(shown)}`,
    { cause: error },
  );
}

/** What to do when the bus is unreachable: the broker command for courier://, the URL for others. */
function advice(url: string): string {
  const courier = COURIER_SCHEMES.has(`${url.split('://')[0]}:`);
  return courier
    ? 'start a broker with `courier broker`, or point --url (COURIER_URL) at a running one'
    : 'check that the server is up there, or point --url (COURIER_URL) at another';
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}
