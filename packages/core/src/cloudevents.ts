/**
 * CloudEvents 1.0: structured JSON mode and binary HTTP mode, both ways.
 *
 * Mapping: `id` <-> id, `subject` <-> type, `source` <-> source, `time` <->
 * time (RFC 3339), `contentType` <-> datacontenttype, `key` <-> partitionkey
 * (the partitioning extension), `deliverAt` <-> courierdeliverat. Headers
 * whose names are valid extension names become extension attributes (so
 * `traceparent` is the distributed-tracing extension); the rest travel as a
 * JSON object in the `courierheaders` extension, so conversion is lossless.
 */
import { jsonCodec, mediaType } from './codec.js';
import { CourierError } from './errors.js';
import { type Headers, type RawMessage, setHeader } from './message.js';

/** A CloudEvent in structured JSON mode. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time?: string;
  datacontenttype?: string;
  data?: unknown;
  data_base64?: string;
  [extension: string]: unknown;
}

/** A CloudEvent in binary HTTP mode: attributes in `ce-` headers, data in the body. */
export interface CloudEventHttp {
  headers: Record<string, string>;
  body: Uint8Array;
}

const CONTEXT = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'datacontenttype',
  'dataschema',
  'subject',
  'data',
  'data_base64',
]);
const OWN = new Set(['partitionkey', 'courierheaders', 'courierdeliverat']);
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

function isJson(contentType: string): boolean {
  const type = mediaType(contentType);
  return type === 'application/json' || type.endsWith('+json');
}

function extensionsOf(message: RawMessage): Record<string, string> {
  const extensions: Record<string, string> = {};
  const other: Headers = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (EXTENSION_NAME.test(name) && !CONTEXT.has(name) && !OWN.has(name)) extensions[name] = value;
    else other[name] = value;
  }
  if (Object.keys(other).length > 0) extensions['courierheaders'] = JSON.stringify(other);
  if (message.key !== undefined) extensions['partitionkey'] = message.key;
  if (message.deliverAt !== undefined)
    extensions['courierdeliverat'] = new Date(message.deliverAt).toISOString();
  return extensions;
}

function requireString(event: Record<string, unknown>, name: string): string {
  const value = event[name];
  if (typeof value !== 'string' || value === '') {
    throw new CourierError(
      'INVALID_MESSAGE',
      `CloudEvent attribute ${name} is missing or not a non-empty string`,
    );
  }
  return value;
}

function parseTime(value: unknown, name: string): number {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time))
    throw new CourierError(
      'INVALID_MESSAGE',
      `CloudEvent attribute ${name} is not an RFC 3339 time: ${String(value)}`,
    );
  return time;
}

/** Builds a message from CloudEvent attributes (all as strings) and a payload. */
function fromAttributes(
  attributes: Record<string, unknown>,
  payload: Uint8Array,
  contentType: string,
): RawMessage {
  if (attributes['specversion'] !== '1.0') {
    throw new CourierError(
      'INVALID_MESSAGE',
      `CloudEvent specversion must be "1.0", got ${JSON.stringify(attributes['specversion'])}`,
    );
  }
  const message: RawMessage = {
    id: requireString(attributes, 'id'),
    source: requireString(attributes, 'source'),
    subject: requireString(attributes, 'type'),
    time: attributes['time'] === undefined ? Date.now() : parseTime(attributes['time'], 'time'),
    contentType,
    payload,
    headers: {},
  };
  for (const [name, value] of Object.entries(attributes)) {
    if (CONTEXT.has(name) || value === undefined) continue;
    if (name === 'partitionkey') message.key = String(value);
    else if (name === 'courierdeliverat') message.deliverAt = parseTime(value, name);
    else if (name === 'courierheaders') Object.assign(message.headers, parseHeaders(value));
    else setHeader(message.headers, name, String(value));
  }
  return message;
}

function parseHeaders(value: unknown): Headers {
  try {
    const parsed: unknown = JSON.parse(String(value));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    }
  } catch {
    // fall through to the error below
  }
  throw new CourierError(
    'INVALID_MESSAGE',
    'CloudEvent extension courierheaders must be a JSON object of strings',
  );
}

/** A message as a structured-mode CloudEvent (JSON data inline, text as a string, other data base64). */
export function toCloudEvent(message: RawMessage): CloudEvent {
  const event: CloudEvent = {
    specversion: '1.0',
    id: message.id,
    source: message.source,
    type: message.subject,
    time: new Date(message.time).toISOString(),
    datacontenttype: message.contentType,
    ...extensionsOf(message),
  };
  if (message.payload.length === 0) return event;
  if (isJson(message.contentType)) event.data = jsonCodec.decode(message.payload);
  else if (mediaType(message.contentType).startsWith('text/'))
    event.data = Buffer.from(message.payload).toString('utf8');
  else event.data_base64 = Buffer.from(message.payload).toString('base64');
  return event;
}

/** A message from a structured-mode CloudEvent. */
export function fromCloudEvent(input: unknown): RawMessage {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CourierError('INVALID_MESSAGE', 'a structured CloudEvent must be a JSON object');
  }
  const event = input as Record<string, unknown>;
  const contentType =
    typeof event['datacontenttype'] === 'string' ? event['datacontenttype'] : 'application/json';
  let payload: Uint8Array = new Uint8Array(0);
  if (typeof event['data_base64'] === 'string') payload = Buffer.from(event['data_base64'], 'base64');
  else if (event['data'] !== undefined) {
    const data = event['data'];
    payload = Buffer.from(
      isJson(contentType) || typeof data !== 'string' ? JSON.stringify(data) : data,
      'utf8',
    );
  }
  return fromAttributes(event, payload, contentType);
}

// The HTTP binding percent-encodes space, double quote, percent and anything outside printable ASCII.
function encodeHeaderValue(value: string): string {
  return Array.from(value, (ch) => {
    const code = ch.codePointAt(0) as number;
    if (code > 0x20 && code < 0x7f && ch !== '"' && ch !== '%') return ch;
    return encodeURIComponent(ch) === ch
      ? `%${code.toString(16).toUpperCase().padStart(2, '0')}`
      : encodeURIComponent(ch);
  }).join('');
}

function decodeHeaderValue(name: string, value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new CourierError(
      'INVALID_MESSAGE',
      `CloudEvent header ${name} has malformed percent-encoding: ${value}`,
    );
  }
}

/** A message as a binary-mode HTTP CloudEvent. */
export function toCloudEventHttp(message: RawMessage): CloudEventHttp {
  const attributes: Record<string, string> = {
    specversion: '1.0',
    id: message.id,
    source: message.source,
    type: message.subject,
    time: new Date(message.time).toISOString(),
    ...extensionsOf(message),
  };
  const headers: Record<string, string> = { 'content-type': message.contentType };
  for (const [name, value] of Object.entries(attributes)) headers[`ce-${name}`] = encodeHeaderValue(value);
  return { headers, body: message.payload };
}

/** A message from a binary-mode HTTP CloudEvent; header names are matched case-insensitively. */
export function fromCloudEventHttp(input: CloudEventHttp): RawMessage {
  const attributes: Record<string, string> = {};
  let contentType = 'application/octet-stream';
  for (const [rawName, value] of Object.entries(input.headers)) {
    const name = rawName.toLowerCase();
    if (name === 'content-type') contentType = value;
    else if (name.startsWith('ce-')) setHeader(attributes, name.slice(3), decodeHeaderValue(name, value));
  }
  return fromAttributes(attributes, input.body, contentType);
}
