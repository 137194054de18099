/**
 * A Courier message as an AMQP 0-9-1 message and back. The payload is the
 * body; id, content type and source travel in the standard properties
 * (`messageId`, `contentType`, `appId`); everything AMQP has no property for
 * (subject, millisecond time, key, deliverAt, the delivery count carried
 * across republishes) in `courier-*` headers. Application headers travel as
 * plain AMQP headers, so tracing tools see `traceparent`; the few names that
 * RabbitMQ or Courier interpret (`CC`, `BCC`, `x-death`, `courier-*`...) are
 * escaped. Decoding never throws: a foreign or damaged message still becomes
 * a delivery, and the Bus dead-letters what it cannot decode.
 */
import { randomUUID } from 'node:crypto';
import { type DeadLetterHeaderNames, type Headers, type RawMessage, setHeader } from '@courier/core';
import type { Message, Options } from 'amqplib';

/** Header names Courier sets; all start with `courier-`. */
export const H = {
  subject: 'courier-subject',
  time: 'courier-time',
  key: 'courier-key',
  deliverAt: 'courier-deliver-at',
  /** Deliveries made before this copy was published (a retry's or a redelivery's history). */
  deliveries: 'courier-deliveries',
  stage: 'courier-stage',
  bucket: 'courier-bucket',
  token: 'courier-token',
  reply: 'courier-reply',
} as const;

/** The headers of a dead letter's fields, written and read by `deadLetterHeaders` of `@courier/core`. */
export const DeadLetterHeader = {
  group: 'courier-group',
  pattern: 'courier-pattern',
  error: 'courier-error',
  attempts: 'courier-attempts',
  time: 'courier-dead-at',
} as const satisfies DeadLetterHeaderNames;

const ESCAPE = 'courier-user-';
const RESERVED =
  /^(cc|bcc|courier-.*|x-death|x-delivery-count|x-first-death-.*|x-last-death-.*|x-received-from|x-match)$/i;

/** The AMQP form of a message: body and publish options. */
export interface AmqpMessage {
  content: Buffer;
  options: Options.Publish & { headers: Record<string, unknown> };
}

function body(payload: Uint8Array): Buffer {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/**
 * Encodes a message for publishing, persistent. `extra` headers (internal
 * ones) are added after the application's. The subject travels as the
 * routing key; `subjectHeader` also puts it in a header, for copies whose
 * routing key is a queue's name (retries, dead letters, replays).
 */
export function encodeMessage(
  message: RawMessage,
  extra: Record<string, unknown> = {},
  subjectHeader = true,
): AmqpMessage {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    headers[RESERVED.test(name) ? `${ESCAPE}${name}` : name] = value;
  }
  if (subjectHeader) headers[H.subject] = message.subject;
  headers[H.time] = String(message.time);
  if (message.key !== undefined) headers[H.key] = message.key;
  if (message.deliverAt !== undefined) headers[H.deliverAt] = String(message.deliverAt);
  Object.assign(headers, extra);
  return {
    content: body(message.payload),
    options: {
      messageId: message.id,
      contentType: message.contentType,
      appId: message.source,
      timestamp: Math.floor(message.time / 1000),
      persistent: true,
      headers,
    },
  };
}

/** A header value as a string, whatever a foreign publisher put there. */
export function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function headerNumber(value: unknown): number | undefined {
  const text = headerText(value);
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** The application's headers of a received message (internal and broker headers removed). */
export function userHeaders(raw: Record<string, unknown> | undefined): Headers {
  const headers: Headers = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    let key = name;
    if (name.startsWith(ESCAPE)) key = name.slice(ESCAPE.length);
    else if (RESERVED.test(name)) continue;
    const text = headerText(value);
    if (text !== undefined) setHeader(headers, key, text);
  }
  return headers;
}

/** Decodes a received message. */
export function decodeMessage(amqp: Message): RawMessage {
  const { properties, content, fields } = amqp;
  const raw = (properties.headers ?? {}) as Record<string, unknown>;
  const time = headerNumber(raw[H.time]);
  const stamp = typeof properties.timestamp === 'number' ? properties.timestamp * 1000 : undefined;
  const message: RawMessage = {
    id: headerText(properties.messageId) || `amqp-${randomUUID()}`,
    subject: headerText(raw[H.subject]) ?? fields.routingKey,
    payload: new Uint8Array(content.buffer, content.byteOffset, content.byteLength),
    contentType: headerText(properties.contentType) || 'application/octet-stream',
    headers: userHeaders(raw),
    time: time ?? stamp ?? Date.now(),
    source: headerText(properties.appId) || 'unknown',
  };
  const key = headerText(raw[H.key]);
  if (key !== undefined) message.key = key;
  const deliverAt = headerNumber(raw[H.deliverAt]);
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  return message;
}

/** How many times `x-death` says the message went through one of the namespace's retry queues. */
function retriesInDeathHistory(raw: Record<string, unknown>, retryPrefix: string): number {
  const deaths = raw['x-death'];
  if (!Array.isArray(deaths)) return 0;
  let total = 0;
  for (const death of deaths) {
    if (typeof death !== 'object' || death === null) continue;
    const { queue, reason, count } = death as Record<string, unknown>;
    if (headerText(queue)?.startsWith(retryPrefix) && headerText(reason) === 'expired')
      total += headerNumber(count) ?? 0;
  }
  return total;
}

/**
 * The delivery count of a received message, 1-based. AMQP 0-9-1 has no
 * delivery counter: Courier carries the deliveries made before the current
 * copy in `courier-deliveries` when it republishes (a delayed retry), the
 * quorum queue adds `x-delivery-count` for redeliveries of this copy (a
 * requeue, a dead consumer), and `x-death` is the floor for the header (a
 * copy that lost it still counts its trips through the retry queues).
 */
export function deliveryCount(amqp: Message, retryPrefix: string): number {
  const raw = (amqp.properties.headers ?? {}) as Record<string, unknown>;
  const carried = Math.max(0, Math.floor(headerNumber(raw[H.deliveries]) ?? 0));
  const before = Math.max(carried, retriesInDeathHistory(raw, retryPrefix));
  const count = headerNumber(raw['x-delivery-count']);
  const returned = count !== undefined ? Math.max(0, Math.floor(count)) : amqp.fields.redelivered ? 1 : 0;
  return before + returned + 1;
}
