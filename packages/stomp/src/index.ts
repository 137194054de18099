/**
 * @courier/stomp: Courier over STOMP 1.2, for ActiveMQ Classic (`stomp://`,
 * `stomps://`). Groups are virtual-topic consumer queues; retries, delays and
 * dead letters are held by the broker.
 */
export { createTransport, optionsFromUrl } from './create-transport.js';
export type { FrameParserOptions, StompFrame } from './frame.js';
export { encodeFrame, FrameParser } from './frame.js';
export type { StompConnectionOptions } from './stomp-connection.js';
export { StompConnection } from './stomp-connection.js';
export type { StompTransportOptions } from './stomp-transport.js';
export { StompTransport } from './stomp-transport.js';
