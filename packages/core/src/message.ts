/**
 * The message as it travels: an envelope of attributes around an encoded
 * payload. Every attribute maps 1:1 to a CloudEvents 1.0 attribute (see
 * `cloudevents.ts`).
 */

import { CourierError } from './errors.js';

/** String headers carried with a message (trace context, application metadata). */
export type Headers = Record<string, string>;

/**
 * A message with its payload encoded, as transports carry it. Producers set
 * every field; engines store and deliver it unchanged.
 */
export interface RawMessage {
  /** Producer-assigned, unique, time-ordered (UUIDv7 by default); the dedup key. */
  id: string;
  /** Where it was published; never a pattern. */
  subject: string;
  /** The encoded data. */
  payload: Uint8Array;
  /** The MIME type of `payload`, which picks the decoding codec. */
  contentType: string;
  headers: Headers;
  /** When it was produced, in milliseconds since the epoch. */
  time: number;
  /** Which service (and instance) produced it. */
  source: string;
  /** Messages with the same key are handled one at a time, in order, inside a group. */
  key?: string;
  /** Not delivered before this time (milliseconds since the epoch). */
  deliverAt?: number;
}

/**
 * Sets a header whose name comes from outside (a wire, a broker, a user):
 * defined as an own property, so a header named `__proto__` stays a header
 * instead of replacing the object's prototype.
 */
export function setHeader(headers: Headers, name: string, value: string): void {
  Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
}

/** The attributes a handler sees beside the decoded data. */
export interface MessageInfo {
  id: string;
  subject: string;
  contentType: string;
  headers: Headers;
  time: Date;
  source: string;
  key?: string;
}

/** The attributes of a raw message, with `time` as a `Date`. */
export function messageInfo(message: RawMessage): MessageInfo {
  const info: MessageInfo = {
    id: message.id,
    subject: message.subject,
    contentType: message.contentType,
    headers: message.headers,
    time: new Date(message.time),
    source: message.source,
  };
  if (message.key !== undefined) info.key = message.key;
  return info;
}

/** The payload size plus the attributes, as engines count it against their limits. */
export function messageSize(message: RawMessage): number {
  // UTF-8 bytes, as every engine counts them on the wire (one character may take up to four).
  const bytes = Buffer.byteLength;
  let size = message.payload.byteLength + bytes(message.id) + bytes(message.subject) + bytes(message.source);
  for (const [name, value] of Object.entries(message.headers)) size += bytes(name) + bytes(value);
  return size + (message.key === undefined ? 0 : bytes(message.key)) + bytes(message.contentType);
}

/** `1.5 MB`, `512 B`: sizes for error messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Checks a message against an engine's limit.
 * @throws CourierError `PAYLOAD_TOO_LARGE` with the size, the limit and what to do.
 */
export function assertSize(message: RawMessage, maxPayload: number, engine: string): void {
  const size = messageSize(message);
  if (size <= maxPayload) return;
  throw new CourierError(
    'PAYLOAD_TOO_LARGE',
    `message of ${formatBytes(size)} exceeds the ${engine} engine's max payload of ${formatBytes(maxPayload)} for subject ${message.subject}; raise the engine's max payload or send a reference (a URL or storage key) instead of the data`,
    { data: { size, limit: maxPayload, subject: message.subject } },
  );
}
