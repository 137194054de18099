/**
 * The entry point `connect(url)` loads for `embedded://`, `courier://`,
 * `couriers://` (TLS), `courier+ws://` and `courier+wss://` (WebSocket).
 */
import { CourierError, type Transport } from '@courier/core';
import { courierTransport } from '../client/courier-transport.js';
import type { ClientTlsOptions } from '../client/link-dialer.js';
import { embeddedPath, embeddedTransport, sharedEngine } from './embedded.js';

const SCHEMES: Readonly<Record<string, { tls: boolean; websocket: boolean }>> = {
  'courier:': { tls: false, websocket: false },
  'couriers:': { tls: true, websocket: false },
  'courier+ws:': { tls: false, websocket: true },
  'courier+wss:': { tls: true, websocket: true },
};

function tlsOption(value: unknown): ClientTlsOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) {
    throw new CourierError(
      'INVALID_OPTION',
      `transport option tls must be an object like { ca, rejectUnauthorized }, got ${JSON.stringify(value)}`,
    );
  }
  return value as ClientTlsOptions;
}

/**
 * A transport for `embedded://PATH` (the engine in this process),
 * `courier://[TOKEN@]HOST[:PORT]` (a broker over TCP, port 4270 by default),
 * `couriers://` (the same over TLS; transport option `tls: { ca, rejectUnauthorized }`),
 * or `courier+ws://[TOKEN@]HOST[:PORT]/PATH` and `courier+wss://` (over a
 * WebSocket, port 4271 and path `/courier` by default).
 */
export async function createTransport(url: URL, options: Record<string, unknown> = {}): Promise<Transport> {
  if (url.protocol === 'embedded:') {
    // The engine is shared per directory: one bus's onError must not become every bus's.
    const { onError: _perBus, ...engineOptions } = options;
    const engine = await sharedEngine({ ...(engineOptions as object), dir: embeddedPath(url) });
    return embeddedTransport(engine);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme) {
    const token = decodeURIComponent(url.username || url.password);
    const text = (name: string): Record<string, string> =>
      typeof options[name] === 'string' ? { [name]: options[name] } : {};
    return courierTransport({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port: url.port === '' ? (scheme.websocket ? 4271 : 4270) : Number(url.port),
      ...(token ? { token } : {}),
      ...text('service'),
      ...text('instance'),
      ...text('version'),
      ...(scheme.tls ? { tls: tlsOption(options['tls']) } : {}),
      ...(scheme.websocket
        ? { websocketPath: url.pathname === '/' || url.pathname === '' ? '/courier' : url.pathname }
        : {}),
    });
  }
  throw new CourierError(
    'INVALID_URL',
    `@courier/broker serves embedded://, courier://, couriers://, courier+ws:// and courier+wss://, not ${url.protocol}//`,
  );
}
