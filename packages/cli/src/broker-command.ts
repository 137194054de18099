/**
 * `courier broker`: starts the broker (TCP protocol and HTTP admin) on a data
 * directory, logs as JSON lines (pino), and shuts down cleanly on SIGINT or
 * SIGTERM, confirming or refusing every publish it accepted.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AlertsConfig,
  BrokerAlerts,
  BrokerMetrics,
  type BrokerServer,
  checkAlertsConfig,
  type GroupConfig,
  type StreamConfig,
  startBroker,
  startHttpAdmin,
  type TokenGrant,
} from '@courier/broker';
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
  /** Streams and their retention (config file only; see docs/broker.md). */
  streams: StreamConfig[] | undefined;
  /** Server-side group settings (config file only; see docs/broker.md). */
  groups: GroupConfig[] | undefined;
  /** TLS identity (PEM contents) when --tls-cert and --tls-key are given. */
  tls: { cert: Buffer; key: Buffer } | undefined;
  /** Alert rules and webhook (config file only; see docs/monitoring.md). */
  alerts: AlertsConfig | undefined;
  /** The dashboard's built directory, `off`, or undefined to serve @courier/dashboard when it is built. */
  dashboard: string | undefined;
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
  streams?: StreamConfig[];
  groups?: GroupConfig[];
  tlsCert?: string;
  tlsKey?: string;
  alerts?: AlertsConfig;
  dashboard?: string;
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

async function readPem(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CourierError('INVALID_OPTION', `cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
}

async function tlsSettings(
  cert: string | undefined,
  key: string | undefined,
): Promise<BrokerSettings['tls']> {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new CourierError(
      'INVALID_OPTION',
      `TLS needs both --tls-cert and --tls-key (COURIER_TLS_CERT, COURIER_TLS_KEY; config tlsCert, tlsKey), got only ${cert === undefined ? '--tls-key' : '--tls-cert'}`,
    );
  }
  return { cert: await readPem(cert, '--tls-cert'), key: await readPem(key, '--tls-key') };
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
    // Checked by the engine when it opens, which names the bad field.
    streams: config.streams,
    groups: config.groups,
    tls: await tlsSettings(
      pick('tlsCert', 'COURIER_TLS_CERT') ?? config.tlsCert,
      pick('tlsKey', 'COURIER_TLS_KEY') ?? config.tlsKey,
    ),
    // Checked now, so a bad rule stops the start with a usage error naming it.
    alerts: checkedAlerts(config.alerts),
    dashboard: pick('dashboard', 'COURIER_DASHBOARD') ?? config.dashboard,
  };
}

function checkedAlerts(alerts: AlertsConfig | undefined): AlertsConfig | undefined {
  if (alerts !== undefined) checkAlertsConfig(alerts);
  return alerts;
}

/** The dashboard directory to serve: the setting, or @courier/dashboard's build when there is one. */
function dashboardDir(setting: string | undefined): string | undefined {
  if (setting === 'off') return undefined;
  if (setting !== undefined) return resolvePath(setting);
  try {
    // From the package's entry (src/index.ts or dist/index.js), its Vite build is ../dist/app/.
    const dir = fileURLToPath(new URL('../dist/app/', import.meta.resolve('@courier/dashboard')));
    return existsSync(join(dir, 'index.html')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the broker until a signal stops it; resolves with the exit code. */
export async function runBroker(settings: BrokerSettings, log: Logger): Promise<number> {
  let ready = false;
  let broker: BrokerServer;
  const metrics = new BrokerMetrics();
  try {
    broker = await startBroker({
      dir: settings.data,
      host: settings.host,
      port: settings.port,
      sync: settings.sync,
      tokens: settings.tokens,
      observer: metrics,
      ...(settings.maxPayload !== undefined ? { maxPayload: settings.maxPayload } : {}),
      ...(settings.streams !== undefined ? { streams: settings.streams } : {}),
      ...(settings.groups !== undefined ? { groups: settings.groups } : {}),
      ...(settings.tls ? { tls: settings.tls } : {}),
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
  const alerts = settings.alerts
    ? BrokerAlerts.start({
        engine: broker.engine,
        metrics,
        config: settings.alerts,
        onError: (error) => log.warn({ err: error }, `alerts: ${(error as Error).message}`),
      })
    : undefined;
  const dashboard = dashboardDir(settings.dashboard);
  const admin = await startHttpAdmin({
    engine: broker.engine,
    host: settings.host,
    port: settings.httpPort,
    ready: () => ready,
    tokens: settings.tokens,
    metrics,
    ...(alerts ? { alerts } : {}),
    ...(dashboard ? { dashboard } : {}),
  }).catch(async (error: unknown) => {
    log.error(
      { err: error },
      `cannot serve HTTP on ${settings.host}:${settings.httpPort}; choose another --http-port`,
    );
    await alerts?.close();
    await broker.close();
    return undefined;
  });
  if (!admin) return 1;
  // The same protocol over WebSocket for browsers, on the HTTP port at /courier.
  const websocket = broker.attachWebSocket(admin.server);
  ready = true;
  log.info(
    {
      url: broker.url,
      http: `http://${settings.host}:${admin.port}`,
      websocket: `ws://${settings.host}:${admin.port}${websocket.path}`,
      data: settings.data,
      sync: settings.sync,
      auth: settings.tokens.length > 0,
      ...(dashboard ? { dashboard } : {}),
      alerts: alerts ? settings.alerts?.rules.length : 0,
    },
    `broker listening on ${broker.url}`,
  );
  if (dashboard) log.info({ dir: dashboard }, `dashboard: http://${settings.host}:${admin.port}/`);
  else log.info('no dashboard: build it with npm run build -w @courier/dashboard, or pass --dashboard DIR');
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping: finishing accepted publishes');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  ready = false;
  await alerts?.close();
  // WebSockets first: the HTTP server's close waits for every socket, upgraded ones too.
  await websocket.close();
  await admin.close();
  await broker.close();
  log.info('stopped');
  return 0;
}
