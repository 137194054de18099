/**
 * `embedded://PATH`: the broker's engine in this process, no TCP. Every
 * transport for one directory shares one engine, opened on first use.
 */
import { resolve } from 'node:path';
import { type Capability, CourierError, LocalTransport } from '@courier/core';
import { BrokerEngine, type BrokerEngineOptions } from '../engine/broker-engine.js';

interface Shared {
  engine: Promise<BrokerEngine>;
  /** The options that shape the engine's behaviour, as JSON, to refuse a second open that differs. */
  settings: string;
}

const engines = new Map<string, Shared>();

/** The options two opens of one directory must agree on (functions such as `log` are not compared). */
function settingsOf(options: BrokerEngineOptions): string {
  const { sync, maxPayload, dedupWindow, streams, groups } = options;
  return JSON.stringify({ sync, maxPayload, dedupWindow, streams, groups });
}

/** A connection to an embedded engine. */
export type EmbeddedTransport = LocalTransport<BrokerEngine>;

/** A transport to an engine you opened; `without` hides capabilities (for tests of the Bus's gap filling). */
export function embeddedTransport(
  engine: BrokerEngine,
  options: { without?: readonly Capability[] } = {},
): EmbeddedTransport {
  return new LocalTransport({ engine, without: options.without ?? [] });
}

/** The directory an `embedded://` URL names: `embedded://./data` is relative, `embedded:///var/data` absolute. */
export function embeddedPath(url: URL): string {
  const path = decodeURIComponent(url.host + url.pathname);
  if (path === '' || path === '/') {
    throw new CourierError(
      'INVALID_URL',
      `${url.href} names no directory; use embedded://./.courier or embedded:///var/lib/courier`,
    );
  }
  return resolve(path);
}

/**
 * Opens the engine for a directory once per process and shares it; after it
 * is closed, the next call opens it again. A second open of a directory that
 * is open with other options (sync, maxPayload, dedupWindow, streams,
 * groups) fails with `INVALID_OPTION` rather than silently getting the first
 * one's engine.
 */
export async function sharedEngine(options: BrokerEngineOptions): Promise<BrokerEngine> {
  const dir = resolve(options.dir);
  const settings = settingsOf(options);
  const shared = engines.get(dir);
  if (shared) {
    const engine = await shared.engine.catch(() => undefined);
    if (engine && !engine.closed) {
      if (shared.settings !== settings)
        throw new CourierError(
          'INVALID_OPTION',
          `embedded://${dir} is already open in this process with other options (${shared.settings}, asked for ${settings}); ` +
            'open it with the same options everywhere, or close the first engine before opening it again',
        );
      return engine;
    }
    if (engines.get(dir) === shared) engines.delete(dir);
    // Another caller may have reopened it meanwhile.
    if (engines.has(dir)) return sharedEngine(options);
  }
  const engine = BrokerEngine.open({ ...options, dir });
  const entry: Shared = { engine, settings };
  engines.set(dir, entry);
  engine.catch(() => {
    if (engines.get(dir) === entry) engines.delete(dir);
  });
  return engine;
}
