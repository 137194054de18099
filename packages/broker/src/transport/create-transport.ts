/**
 * The entry point `connect(url)` loads for `embedded://` and `courier://`.
 */
import { CourierError, type Transport } from '@courier/core';
import { embeddedPath, embeddedTransport, sharedEngine } from './embedded.js';

/**
 * A transport for an `embedded://PATH` URL. `courier://` (the broker over
 * TCP) is refused until the network server ships, with what to use instead.
 */
export async function createTransport(url: URL, options: Record<string, unknown> = {}): Promise<Transport> {
  if (url.protocol === 'embedded:') {
    const engine = await sharedEngine({ ...(options as object), dir: embeddedPath(url) });
    return embeddedTransport(engine);
  }
  throw new CourierError(
    'UNSUPPORTED',
    `${url.protocol}// needs the broker's network server, which this version does not have yet; use embedded://PATH to run the broker in this process`,
    { data: { scheme: url.protocol } },
  );
}
