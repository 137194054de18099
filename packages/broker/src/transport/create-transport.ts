/**
 * The entry point `connect(url)` loads for `embedded://` and `courier://`.
 */
import { CourierError, type Transport } from '@courier/core';
import { courierTransport } from '../client/courier-transport.js';
import { embeddedPath, embeddedTransport, sharedEngine } from './embedded.js';

/**
 * A transport for `embedded://PATH` (the engine in this process) or
 * `courier://[TOKEN@]HOST[:PORT]` (a broker over TCP, port 4270 by default).
 */
export async function createTransport(url: URL, options: Record<string, unknown> = {}): Promise<Transport> {
  if (url.protocol === 'embedded:') {
    const engine = await sharedEngine({ ...(options as object), dir: embeddedPath(url) });
    return embeddedTransport(engine);
  }
  if (url.protocol === 'courier:') {
    const token = decodeURIComponent(url.username || url.password);
    return courierTransport({
      host: url.hostname || '127.0.0.1',
      port: url.port === '' ? 4270 : Number(url.port),
      ...(token ? { token } : {}),
      ...(typeof options['service'] === 'string' ? { service: options['service'] } : {}),
    });
  }
  throw new CourierError(
    'INVALID_URL',
    `@courier/broker serves embedded:// and courier://, not ${url.protocol}//`,
  );
}
