/**
 * `embedded://PATH`: the broker's engine in this process, no TCP. Every
 * transport for one directory shares one engine, opened on first use.
 */
import { resolve } from 'node:path';
import { type Capability, CourierError, LocalTransport } from '@courier/core';
import { BrokerEngine, type BrokerEngineOptions } from '../engine/broker-engine.js';

const engines = new Map<string, Promise<BrokerEngine>>();

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

/** Opens the engine for a directory once per process and shares it. */
export function sharedEngine(options: BrokerEngineOptions): Promise<BrokerEngine> {
  const dir = resolve(options.dir);
  let engine = engines.get(dir);
  if (!engine) {
    engine = BrokerEngine.open({ ...options, dir });
    engines.set(dir, engine);
    engine.catch(() => engines.delete(dir));
  }
  return engine;
}
