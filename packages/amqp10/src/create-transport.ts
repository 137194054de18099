/**
 * `amqp10://user:pass@host:port?broker=rabbitmq&prefix=courier` and
 * `amqps10://...` (TLS): the URL form that `connect` passes here. Query
 * parameters and `connect`'s transport options set the same fields; options
 * win.
 */
import { CourierError } from '@courier/core';
import { type Amqp10Transport, type Amqp10TransportOptions, amqp10Transport } from './amqp10-transport.js';
import { BROKER_KINDS, type BrokerKind } from './broker-profile.js';

function positive(value: string | null, name: string): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new CourierError(
      'INVALID_URL',
      `${name} must be a positive whole number, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** Transport options from an `amqp10://` or `amqps10://` URL. */
export function optionsFromUrl(url: URL): Amqp10TransportOptions {
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'amqp10' && scheme !== 'amqps10') {
    throw new CourierError(
      'INVALID_URL',
      `@courier/amqp10 serves amqp10:// and amqps10://, not ${scheme}://`,
    );
  }
  const options: Amqp10TransportOptions = { tls: scheme === 'amqps10' };
  if (url.hostname !== '') options.host = url.hostname.replace(/^\[|\]$/g, '');
  const port = positive(url.port === '' ? null : url.port, 'port');
  if (port !== undefined) options.port = port;
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  const vhost = url.pathname.replace(/^\//, '');
  if (vhost !== '') options.vhost = decodeURIComponent(vhost);
  const q = url.searchParams;
  const broker = q.get('broker');
  if (broker !== null) {
    if (!(BROKER_KINDS as readonly string[]).includes(broker)) {
      throw new CourierError(
        'INVALID_URL',
        `broker must be one of ${BROKER_KINDS.join(', ')}, got ${broker}`,
      );
    }
    options.broker = broker as BrokerKind;
  }
  const prefix = q.get('prefix');
  if (prefix !== null) options.prefix = prefix;
  const exchange = q.get('exchange');
  if (exchange !== null) options.exchange = exchange;
  const maxPayload = positive(q.get('maxPayload'), 'maxPayload');
  if (maxPayload !== undefined) options.maxPayload = maxPayload;
  return options;
}

/** What `connect('amqp10://...')` calls. */
export function createTransport(url: URL, options: Record<string, unknown> = {}): Promise<Amqp10Transport> {
  return amqp10Transport({ ...optionsFromUrl(url), ...(options as Amqp10TransportOptions) });
}
