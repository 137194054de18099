/**
 * Courier's message in AMQP 1.0 form, and back. The envelope uses the
 * standard sections so that other AMQP 1.0 clients read it naturally:
 * `message-id`, `subject`, `content-type`, `creation-time` and `group-id`
 * (the key: AMQP message groups are per-key ordering) in the properties,
 * headers as application properties, the payload as one data section.
 * What AMQP has no field for (the source, the delivery time, the attempts a
 * retried copy already had, and a dead letter's error) travels in message
 * annotations under `x-opt-courier-*`, which brokers keep unchanged.
 */
import {
  type DeadLetterFields,
  type DeadLetterHeaderNames,
  deadLetterFromHeaders,
  deadLetterHeaders,
  newId,
  type RawMessage,
} from '@courier/core';
import rhea from 'rhea';

/** The subset of a rhea message that Courier reads and writes. */
export interface AmqpMessage {
  message_id?: unknown;
  subject?: unknown;
  content_type?: unknown;
  creation_time?: unknown;
  group_id?: unknown;
  durable?: boolean;
  first_acquirer?: unknown;
  delivery_count?: unknown;
  application_properties?: Record<string, unknown>;
  message_annotations?: Record<string, unknown>;
  body?: unknown;
}

const SOURCE = 'x-opt-courier-source';
const DELIVER_AT = 'x-opt-courier-deliver-at';
const ATTEMPTS = 'x-opt-courier-attempts';
const MARKER = 'x-opt-courier-marker';

/** The annotations of a dead letter's fields, written and read by `deadLetterHeaders` of `@courier/core`. */
const DEAD_LETTER = {
  group: 'x-opt-courier-dl-group',
  pattern: 'x-opt-courier-dl-pattern',
  error: 'x-opt-courier-dl-error',
  attempts: 'x-opt-courier-dl-attempts',
  time: 'x-opt-courier-dl-time',
} as const satisfies DeadLetterHeaderNames;

/** A received message: Courier's view, the deliveries it already had, and dead-letter details if any. */
export interface Decoded {
  message: RawMessage;
  /** Deliveries recorded in the copy (a retried message is sent again with its count). */
  priorAttempts: number;
  /** Whether the broker says it delivered this very copy before (first-acquirer false or a delivery count). */
  redelivered: number;
  deadLetter?: DeadLetterFields;
  /** The id of a marker message (used to find the end of a queue), if this is one. */
  marker?: string;
}

/** Options of {@link toAmqp}. */
export interface EncodeOptions {
  /** Deliveries the message already had (for a retried copy). */
  attempts?: number;
  deadLetter?: DeadLetterFields;
}

/** The AMQP 1.0 form of a Courier message, sent durable. */
export function toAmqp(message: RawMessage, options: EncodeOptions = {}): AmqpMessage {
  const annotations: Record<string, unknown> = { [SOURCE]: message.source };
  if (message.deliverAt !== undefined) annotations[DELIVER_AT] = message.deliverAt;
  if (options.attempts !== undefined && options.attempts > 0) annotations[ATTEMPTS] = options.attempts;
  if (options.deadLetter) Object.assign(annotations, deadLetterHeaders(options.deadLetter, DEAD_LETTER));
  const amqp: AmqpMessage = {
    message_id: message.id,
    subject: message.subject,
    content_type: message.contentType,
    creation_time: new Date(message.time),
    durable: true,
    application_properties: { ...message.headers },
    message_annotations: annotations,
    body: rhea.message.data_section(Buffer.from(message.payload)),
  };
  if (message.key !== undefined) amqp.group_id = message.key;
  return amqp;
}

/** A marker: an empty message whose arrival shows that everything queued before it has been read. */
export function markerMessage(id: string): AmqpMessage {
  return { message_id: id, durable: true, message_annotations: { [MARKER]: id }, body: null };
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return undefined;
}

function count(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function payloadOf(body: unknown): { payload: Uint8Array; contentType?: string } {
  if (body === null || body === undefined) return { payload: new Uint8Array(0) };
  const section = body as { typecode?: unknown; content?: unknown };
  if (typeof section === 'object' && section.typecode === 0x75) {
    const content = section.content;
    if (Buffer.isBuffer(content)) return { payload: new Uint8Array(content) };
    if (Array.isArray(content))
      return { payload: new Uint8Array(Buffer.concat(content.filter(Buffer.isBuffer))) };
  }
  if (Buffer.isBuffer(body)) return { payload: new Uint8Array(body) };
  if (typeof body === 'string') return { payload: new TextEncoder().encode(body), contentType: 'text/plain' };
  // An amqp-value from a foreign client (a map, a list, a number): hand it over as JSON.
  try {
    const json = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return { payload: new TextEncoder().encode(json ?? 'null'), contentType: 'application/json' };
  } catch {
    return { payload: new Uint8Array(0), contentType: 'application/octet-stream' };
  }
}

/**
 * Courier's view of any received AMQP 1.0 message. Never throws: messages
 * from foreign clients get an id, a subject (`fallbackSubject`) and a time
 * so they can be handled or dead-lettered like any other.
 */
export function fromAmqp(amqp: AmqpMessage, fallbackSubject: string): Decoded {
  const annotations = amqp.message_annotations ?? {};
  const { payload, contentType } = payloadOf(amqp.body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(amqp.application_properties ?? {})) {
    const v = typeof value === 'boolean' ? String(value) : text(value);
    // defineProperty: a header named `__proto__` must stay data, never a prototype.
    if (v !== undefined)
      Object.defineProperty(headers, name, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  const time =
    amqp.creation_time instanceof Date
      ? amqp.creation_time.getTime()
      : typeof amqp.creation_time === 'number'
        ? amqp.creation_time
        : Date.now();
  const message: RawMessage = {
    id: text(amqp.message_id) ?? newId(),
    subject: text(amqp.subject) ?? fallbackSubject,
    payload,
    contentType: text(amqp.content_type) ?? contentType ?? 'application/octet-stream',
    headers,
    time,
    source: text(annotations[SOURCE]) ?? 'amqp10',
  };
  const key = text(amqp.group_id);
  if (key !== undefined) message.key = key;
  const deliverAt = count(annotations[DELIVER_AT]);
  if (deliverAt > 0) message.deliverAt = deliverAt;
  const decoded: Decoded = {
    message,
    priorAttempts: count(annotations[ATTEMPTS]),
    redelivered: Math.max(count(amqp.delivery_count), amqp.first_acquirer === false ? 1 : 0),
  };
  const group = text(annotations[DEAD_LETTER.group]);
  if (group !== undefined) {
    decoded.deadLetter = deadLetterFromHeaders((name) => text(annotations[name]), DEAD_LETTER, {
      group,
      pattern: message.subject,
      time,
    });
  }
  const marker = text(annotations[MARKER]);
  if (marker !== undefined) decoded.marker = marker;
  return decoded;
}
