/**
 * A Courier message as a Kafka record, and back. The attributes travel in
 * headers named by the CloudEvents Kafka protocol binding (binary mode):
 * `ce_specversion`, `ce_id`, `ce_source`, `ce_type` (the subject),
 * `ce_time`, `content-type`, `ce_partitionkey` (also the record key) and
 * `ce_courierdeliverat`; the payload is the record value, untouched. So
 * other Kafka consumers read Courier's messages as CloudEvents. Application
 * headers keep their names, except names that would clash with those
 * (`ce_…`, `content-type`, `courier-…`), which travel as `courier-h-NAME`.
 * Retry copies add `courier-attempts`, `courier-due`, `courier-pattern` and
 * the original subject.
 */
import { type Headers, type RawMessage, setHeader } from '@courier/core';

/** A record header as the client library takes and gives it. */
export type RecordHeader = Record<string, string | Buffer>;

/** What Courier adds to copies on retry topics. */
export interface RetryInfo {
  /** Deliveries already made. */
  attempts: number;
  /** Not to be delivered before this time (ms since the epoch). */
  due: number;
}

/** A record ready for the producer. */
export interface OutgoingRecord {
  value: Buffer;
  key: Buffer | null;
  timestamp: number;
  headers: RecordHeader[];
}

/** A decoded record: the message, and retry details when it came from a retry topic. */
export interface IncomingRecord {
  message: RawMessage;
  retry: RetryInfo | undefined;
}

const RESERVED = /^(ce_|content-type$|courier-)/i;
const ESCAPED = 'courier-h-';

/** The record for a message; `retry` marks a copy for a retry topic. */
export function toRecord(message: RawMessage, retry?: RetryInfo): OutgoingRecord {
  const headers: RecordHeader[] = [
    { ce_specversion: '1.0' },
    { ce_id: message.id },
    { ce_source: message.source },
    { ce_type: message.subject },
    { ce_time: new Date(message.time).toISOString() },
    { 'content-type': message.contentType },
  ];
  if (message.key !== undefined) headers.push({ ce_partitionkey: message.key });
  if (message.deliverAt !== undefined) headers.push({ ce_courierdeliverat: String(message.deliverAt) });
  for (const [name, value] of Object.entries(message.headers)) {
    headers.push({ [RESERVED.test(name) ? ESCAPED + name : name]: value });
  }
  if (retry) {
    headers.push({ 'courier-attempts': String(retry.attempts) }, { 'courier-due': String(retry.due) });
  }
  return {
    value: Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength),
    key: message.key === undefined ? null : Buffer.from(message.key),
    timestamp: message.time,
    headers,
  };
}

function text(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The message in a record. Records written by other producers decode too:
 * a missing id becomes `topic/partition/offset`, a missing subject the
 * topic's, a missing content type `application/octet-stream`.
 */
export function fromRecord(
  record: {
    topic: string;
    partition: number;
    offset: number;
    value: Buffer | null;
    key?: Buffer | string | null | undefined;
    timestamp?: number | undefined;
    headers?: RecordHeader[] | undefined;
  },
  subject: string,
): IncomingRecord {
  const attributes = new Map<string, string>();
  const headers: Headers = {};
  for (const header of record.headers ?? []) {
    for (const [name, value] of Object.entries(header)) {
      if (name.startsWith(ESCAPED)) setHeader(headers, name.slice(ESCAPED.length), text(value));
      else if (RESERVED.test(name)) attributes.set(name.toLowerCase(), text(value));
      else setHeader(headers, name, text(value));
    }
  }
  const time = Date.parse(attributes.get('ce_time') ?? '');
  const message: RawMessage = {
    id: attributes.get('ce_id') ?? `${record.topic}/${record.partition}/${record.offset}`,
    subject: attributes.get('ce_type') ?? subject,
    payload: record.value ? new Uint8Array(record.value) : new Uint8Array(0),
    contentType: attributes.get('content-type') ?? 'application/octet-stream',
    headers,
    time: Number.isFinite(time) ? time : (record.timestamp ?? Date.now()),
    source: attributes.get('ce_source') ?? 'kafka',
  };
  const key =
    attributes.get('ce_partitionkey') ??
    (record.key === undefined || record.key === null ? undefined : text(record.key));
  if (key !== undefined) message.key = key;
  const deliverAt = integer(attributes.get('ce_courierdeliverat'));
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  const attempts = integer(attributes.get('courier-attempts'));
  const retry =
    attempts === undefined ? undefined : { attempts, due: integer(attributes.get('courier-due')) ?? 0 };
  return { message, retry };
}
