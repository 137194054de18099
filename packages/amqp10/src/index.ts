/**
 * @courier/amqp10: Courier over AMQP 1.0 (`amqp10://`, `amqps10://`) with
 * rhea. Tested on RabbitMQ 3.x's AMQP 1.0 plugin and on Qpid Proton's
 * example broker; see docs/engines/amqp10.md for the mappings and what each
 * broker does not promise.
 */
export type { Amqp10TransportOptions } from './amqp10-transport.js';
export { Amqp10Transport, amqp10Transport } from './amqp10-transport.js';
export type { BrokerKind, BrokerProfile } from './broker-profile.js';
export { BROKER_KINDS, bindingKey } from './broker-profile.js';
export { createTransport, optionsFromUrl } from './create-transport.js';
