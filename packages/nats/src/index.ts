/**
 * @courier/nats: the NATS JetStream transport for Courier (`nats://`).
 * `connect('nats://127.0.0.1:4222')` loads it; `natsTransport({...})` builds
 * one with options.
 */
export { DeadLetterHeader } from './dead-letters.js';
export { EnvelopeHeader } from './envelope.js';
export { consumerName, groupToken } from './names.js';
export { createTransport, ENVELOPE_RESERVE, NatsTransport, natsTransport } from './nats-transport.js';
export type { NatsTransportOptions } from './options.js';
