/**
 * `courier broker`: starts the broker (TCP protocol and HTTP admin) on a data
 * directory, logs as JSON lines (pino), and shuts down cleanly on SIGINT or
 * SIGTERM, confirming or refusing every publish it accepted.
 */
import { readFile } from 'node:fs/promises';
import { type BrokerServer, startBroker, startHttpAdmin, type TokenGrant } from '@courier/broker';
import { CourierError } from '@courier/core';
import type { Logger } from 'pino';

/** The settings of a broker run, from flags, environment and config file (in that order of precedence). */
export interface BrokerSettings {
  data: string;
  host: string;
  port: number;
  httpPort: number;
  sync: 'sync' | 'none' | { interval: number };
  tokens: (string | TokenGrant)[];
  maxPayload: number | undefined;
}

/** What the config file (`--config FILE`, JSON) may hold. */
interface ConfigFile {
  data?: string;
  host?: string;
  port?: number;
  httpPort?: number;
  sync?: string;
  tokens?: (string | TokenGrant)[];
  maxPayload?: number;
}

function port(value: string | number, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function sync(value: string): BrokerSettings['sync'] {
  if (value === 'sync' || value === 'none') return value;
  const ms = Number(value);
  if (Number.isInteger(ms) && ms > 0) return { interval: ms };
  throw new CourierError(
    'INVALID_OPTION',
    `--sync must be sync, none or a number of milliseconds, got ${JSON.stringify(value)}`,
  );
}

async function readConfig(path: string | undefined): Promise<ConfigFile> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CourierError(
      'INVALID_OPTION',
      `cannot read the config file ${path}: ${(error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as ConfigFile;
  } catch (error) {
    throw new CourierError(
      'INVALID_OPTION',
      `the config file ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** Resolves settings: flags win over environment variables, which win over the config file. */
export async function brokerSettings(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
): Promise<BrokerSettings> {
  const config = await readConfig(flags['config'] ?? env['COURIER_CONFIG']);
  const pick = (flag: string, variable: string): string | undefined => flags[flag] ?? env[variable];
  const tokens = pick('token', 'COURIER_TOKEN');
  const maxPayload = config.maxPayload;
  return {
    data: pick('data', 'COURIER_DATA') ?? config.data ?? './.courier',
    host: pick('host', 'COURIER_HOST') ?? config.host ?? '127.0.0.1',
    port: port(pick('port', 'COURIER_PORT') ?? config.port ?? 4270, '--port'),
    httpPort: port(pick('httpPort', 'COURIER_HTTP_PORT') ?? config.httpPort ?? 4271, '--http-port'),
    sync: sync(pick('sync', 'COURIER_SYNC') ?? config.sync ?? 'sync'),
    tokens: tokens !== undefined ? tokens.split(',').filter((t) => t !== '') : (config.tokens ?? []),
    maxPayload: typeof maxPayload === 'number' ? maxPayload : undefined,
  };
}

/** Runs the broker until a signal stops it; resolves with the exit code. */
export async function runBroker(settings: BrokerSettings, log: Logger): Promise<number> {
  let ready = false;
  let broker: BrokerServer;
  try {
    broker = await startBroker({
      dir: settings.data,
      host: settings.host,
      port: settings.port,
      sync: settings.sync,
      tokens: settings.tokens,
      ...(settings.maxPayload !== undefined ? { maxPayload: settings.maxPayload } : {}),
      log: {
        info: (fields, message) => log.info(fields, message),
        warn: (fields, message) => log.warn(fields, message),
        error: (fields, message) => log.error(fields, message),
      },
      onError: (error) => log.error({ err: error }, 'broker error'),
    });
  } catch (error) {
    log.error({ err: error }, `cannot start the broker: ${(error as Error).message}`);
    return 1;
  }
  const admin = await startHttpAdmin({
    engine: broker.engine,
    host: settings.host,
    port: settings.httpPort,
    ready: () => ready,
  }).catch(async (error: unknown) => {
    log.error(
      { err: error },
      `cannot serve HTTP on ${settings.host}:${settings.httpPort}; choose another --http-port`,
    );
    await broker.close();
    return undefined;
  });
  if (!admin) return 1;
  ready = true;
  log.info(
    {
      url: broker.url,
      http: `http://${settings.host}:${admin.port}`,
      data: settings.data,
      sync: settings.sync,
      auth: settings.tokens.length > 0,
    },
    `broker listening on ${broker.url}`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping: finishing accepted publishes');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  ready = false;
  await admin.close();
  await broker.close();
  log.info('stopped');
  return 0;
}
