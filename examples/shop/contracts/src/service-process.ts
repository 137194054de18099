/**
 * What every shop service does around its own code: connects to Courier
 * from `COURIER_URL`, logs readable lines, tells the launcher when it is
 * ready, and drains on SIGTERM, SIGINT or when the launcher goes away.
 */
import { type Bus, CourierError, connect, toMillis } from '@courier/core';

/** The default engine: the broker that `npm start` runs. */
export const DEFAULT_URL = 'courier://127.0.0.1:4270';

/** A running service, as its `start` function sees it. */
export interface ServiceContext {
  readonly bus: Bus;
  /** This instance's name (`INSTANCE`, or the service's name). */
  readonly instance: string;
  /** Writes one line to stdout; the launcher prefixes it with the instance name. */
  log(line: string): void;
}

/** Options of {@link runService}. */
export interface RunServiceOptions {
  /** The service's name, as the service registry and the dashboard show it. */
  service: string;
  /** Subscribes and handles; resolves once the service can do its work. Returns an optional cleanup. */
  start(context: ServiceContext): Promise<(() => Promise<void>) | undefined>;
  /** The environment to read (`COURIER_URL`, `INSTANCE`). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Runs a service until a signal (or the launcher's exit) stops it; then
 * closes the bus, which finishes in-flight handlers first, and exits 0.
 */
export async function runService(options: RunServiceOptions): Promise<void> {
  const env = options.env ?? process.env;
  const url = env['COURIER_URL'] ?? DEFAULT_URL;
  const instance = env['INSTANCE'] ?? options.service;
  const bus = await connect(url, {
    service: options.service,
    instance,
    onError: (error) => log(`error: ${String(error)}`),
  });
  let cleanup: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> => {
    stopping ??= (async () => {
      log(`stopping (${why}): finishing in-flight work`);
      await cleanup?.();
      await bus.close();
      log('stopped');
    })();
    return stopping;
  };
  const exitAfterStop = (why: string): void => {
    stop(why).then(
      () => process.exit(0),
      (error: unknown) => {
        log(`error while stopping: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => exitAfterStop('SIGTERM'));
  process.once('SIGINT', () => exitAfterStop('SIGINT'));
  // Started by the launcher with an IPC channel: when the launcher dies, so does this service.
  process.once('disconnect', () => exitAfterStop('the launcher went away'));
  cleanup = await options.start({ bus, instance, log });
  log(`ready on ${redact(url)}`);
  process.send?.({ ready: true });
}

/** A URL fit for logs: without a password or token. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    else if (parsed.username !== '') parsed.username = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

/** Reads a number from the environment; `INVALID_OPTION` naming the variable when it is not one. */
export function numberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} must be a number, got ${JSON.stringify(text)}; set a number or unset it for ${fallback}`,
    );
  }
  return value;
}

/** Reads a duration (`500ms`, `30s`, or milliseconds) from the environment, in milliseconds. */
export function durationFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const text = env[name];
  return toMillis(text === undefined || text === '' ? fallback : text, `the environment variable ${name}`);
}
