/**
 * The message envelope in NATS headers. NATS carries a payload and headers,
 * so every Courier attribute travels as a header beside the untouched
 * payload: the id as `Nats-Msg-Id` (which is also JetStream's dedup key),
 * and `Courier-Time`, `Courier-Source`, `Courier-Content-Type`,
 * `Courier-Key`, `Courier-Deliver-At`.
 *
 * NATS header names are printable ASCII without `:`, and values may not
 * hold CR or LF and lose surrounding whitespace. Application headers that
 * fit those rules travel under their own names, so other NATS clients read
 * `traceparent` as usual; the rest are carried reversibly: a name that does
 * not fit (or that would collide with `Nats-` and `Courier-` headers) becomes
 * `Courier-Hdr-<percent-encoded name>`, and a value that does not fit is
 * percent-encoded and its header listed in `Courier-Escaped`.
 *
 * Messages published by plain NATS clients (no `Courier-Time`) are still
 * delivered: their id is their `Nats-Msg-Id` or their stream position, their
 * time the stream's, and their content type `Content-Type` or
 * `application/octet-stream`.
 */
import { type Headers, type RawMessage, setHeader } from '@courier/core';
import { type MsgHdrs, MsgHdrsImpl } from '@nats-io/nats-core';

/** The header names of the envelope. */
export const EnvelopeHeader = {
  id: 'Nats-Msg-Id',
  /** The Courier id when `Nats-Msg-Id` holds something else (dead letters, replays). */
  courierId: 'Courier-Id',
  /** The Courier subject when the NATS subject is another (dead letters, replays). */
  subject: 'Courier-Subject',
  time: 'Courier-Time',
  source: 'Courier-Source',
  contentType: 'Courier-Content-Type',
  key: 'Courier-Key',
  deliverAt: 'Courier-Deliver-At',
  escaped: 'Courier-Escaped',
  userPrefix: 'Courier-Hdr-',
} as const;

const VALID_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const RESERVED_NAME = /^(nats-|courier-)/i;

/** Whether a value survives a NATS header unchanged. */
function plainValue(value: string): boolean {
  return !/[\r\n]/.test(value) && value === value.trim();
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Percent-encodes text; a lone surrogate (not valid UTF-16 text) becomes U+FFFD rather than an exception. */
function percentEncode(text: string): string {
  return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
}

/** The NATS header name for an application header name. */
export function headerName(name: string): string {
  return VALID_NAME.test(name) && !RESERVED_NAME.test(name)
    ? name
    : `${EnvelopeHeader.userPrefix}${percentEncode(name)}`;
}

/** Builds NATS headers, escaping values that NATS cannot carry unchanged. */
export class HeaderWriter {
  // No prototype: a header named __proto__ is a header like any other.
  readonly #record: Record<string, string[]> = Object.create(null);
  readonly #escaped: string[] = [];

  /** Sets a header; `name` must be a valid NATS header name (see {@link headerName}). */
  set(name: string, value: string): void {
    if (plainValue(value)) this.#record[name] = [value];
    else {
      this.#record[name] = [percentEncode(value)];
      this.#escaped.push(name);
    }
  }

  /** Adds application headers under their NATS names. */
  setAll(headers: Headers): void {
    for (const [name, value] of Object.entries(headers)) this.set(headerName(name), value);
  }

  /** The headers, with the list of escaped ones. */
  finish(): MsgHdrs {
    // Header names never contain ':', so it separates the list unambiguously.
    if (this.#escaped.length > 0) this.#record[EnvelopeHeader.escaped] = [this.#escaped.join(':')];
    // Names and values were made valid above, so the client's per-header checks are not needed.
    return MsgHdrsImpl.fromRecord(this.#record);
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Reads NATS headers, undoing the escaping of {@link HeaderWriter}. */
export class HeaderReader {
  readonly #values = new Map<string, string>();
  readonly #escaped: ReadonlySet<string>;

  constructor(headers: MsgHdrs | undefined) {
    if (headers)
      for (const [name, values] of headers) if (values[0] !== undefined) this.#values.set(name, values[0]);
    const list = this.#values.get(EnvelopeHeader.escaped) ?? '';
    this.#escaped = new Set(list === '' ? [] : list.split(':'));
  }

  /** A header's first value, or `undefined` when it is absent. */
  get(name: string): string | undefined {
    const value = this.#values.get(name);
    return value !== undefined && this.#escaped.has(name) ? safeDecode(value) : value;
  }

  /** The application headers: every header outside the `Nats-` and `Courier-` namespaces, and `Courier-Hdr-*`. */
  application(): Headers {
    const result: Headers = {};
    for (const name of this.#values.keys()) {
      const value = this.get(name) ?? '';
      if (name.startsWith(EnvelopeHeader.userPrefix)) {
        setHeader(result, safeDecode(name.slice(EnvelopeHeader.userPrefix.length)), value);
      } else if (!RESERVED_NAME.test(name)) {
        setHeader(result, name, value);
      }
    }
    return result;
  }

  /** The first header whose name matches `name` in any case. */
  anyCase(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const [key, value] of this.#values) if (key.toLowerCase() === lower) return value;
    return undefined;
  }
}

/**
 * Starts the headers of a message. With `natsId`, `Nats-Msg-Id` carries that
 * (a dedup key of the adapter's own) and `Courier-Id` the message's id; with
 * `withSubject`, `Courier-Subject` carries its subject.
 */
export function envelopeWriter(
  message: RawMessage,
  options: { natsId?: string; withSubject?: boolean } = {},
): HeaderWriter {
  const writer = new HeaderWriter();
  if (options.natsId === undefined) writer.set(EnvelopeHeader.id, message.id);
  else {
    writer.set(EnvelopeHeader.id, options.natsId);
    writer.set(EnvelopeHeader.courierId, message.id);
  }
  if (options.withSubject) writer.set(EnvelopeHeader.subject, message.subject);
  writer.set(EnvelopeHeader.time, String(message.time));
  writer.set(EnvelopeHeader.source, message.source);
  writer.set(EnvelopeHeader.contentType, message.contentType);
  if (message.key !== undefined) writer.set(EnvelopeHeader.key, message.key);
  if (message.deliverAt !== undefined) writer.set(EnvelopeHeader.deliverAt, String(message.deliverAt));
  writer.setAll(message.headers);
  return writer;
}

/** The NATS headers of a message. */
export function encodeEnvelope(message: RawMessage): MsgHdrs {
  return envelopeWriter(message).finish();
}

/** What the stream knows about a stored message, for messages without a Courier envelope. */
export interface StoredFacts {
  /** The Courier subject (the NATS subject without the prefix); absent: read `Courier-Subject`. */
  subject?: string;
  /** Used as the id when the message has neither `Courier-Id` nor `Nats-Msg-Id`. */
  fallbackId: string;
  /** When the stream stored it, in milliseconds since the epoch. */
  storedAt: number;
}

function finiteNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Rebuilds a message from its NATS headers and payload. Never throws: foreign messages get defaults. */
export function decodeEnvelope(
  headers: MsgHdrs | undefined,
  payload: Uint8Array,
  facts: StoredFacts,
): RawMessage {
  const reader = new HeaderReader(headers);
  const courier = reader.get(EnvelopeHeader.time) !== undefined;
  const contentType =
    reader.get(EnvelopeHeader.contentType) ??
    (courier ? undefined : reader.anyCase('content-type')) ??
    'application/octet-stream';
  const message: RawMessage = {
    id: reader.get(EnvelopeHeader.courierId) ?? reader.get(EnvelopeHeader.id) ?? facts.fallbackId,
    subject: facts.subject ?? reader.get(EnvelopeHeader.subject) ?? '',
    payload,
    contentType,
    headers: reader.application(),
    time: finiteNumber(reader.get(EnvelopeHeader.time)) ?? facts.storedAt,
    source: reader.get(EnvelopeHeader.source) ?? 'nats',
  };
  const key = reader.get(EnvelopeHeader.key);
  if (key !== undefined) message.key = key;
  const deliverAt = finiteNumber(reader.get(EnvelopeHeader.deliverAt));
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  return message;
}

/** The bytes the headers take on the wire, as the server counts them against `max_payload`. */
export function headersSize(headers: MsgHdrs): number {
  return headers instanceof MsgHdrsImpl ? headers.encode().byteLength : 0;
}
