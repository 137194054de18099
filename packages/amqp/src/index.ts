/**
 * @courier/amqp: the RabbitMQ (AMQP 0-9-1) transport for Courier, for
 * `amqp://` and `amqps://` URLs.
 */
import type { CreateTransport } from '@courier/core';
import { AmqpTransport } from './amqp-transport.js';
import type { AmqpTransportOptions } from './transport-options.js';

export { AmqpTransport } from './amqp-transport.js';
export { bindingKey, delayBucket, groupQueue } from './topology.js';
export type { AmqpTransportOptions } from './transport-options.js';

/** Connects a RabbitMQ transport; what `connect('amqp://...')` calls. */
export const createTransport: CreateTransport = (url, options) =>
  AmqpTransport.connect(url, options as AmqpTransportOptions);

/** Connects a RabbitMQ transport to `url` (`amqp://user:pass@host:5672/vhost`). */
export function amqpTransport(url: string | URL, options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
  return AmqpTransport.connect(typeof url === 'string' ? new URL(url) : url, options);
}
