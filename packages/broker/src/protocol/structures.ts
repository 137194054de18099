/**
 * The structures frames are made of (docs/protocol.md, Frames): message,
 * error, reply and dead letter. The broker also stores messages and dead
 * letters on disk in these forms.
 */
import {
  CourierError,
  type DeadLetter,
  type RawMessage,
  type Reply,
  setHeader,
  type WireError,
} from '@courier/core';
import type { WireReader } from './wire-reader.js';
import type { WireWriter } from './wire-writer.js';

const HAS_KEY = 1;
const HAS_DELIVER_AT = 2;

function writeHeaders(w: WireWriter, headers: Record<string, string>): void {
  const entries = Object.entries(headers);
  w.u16(entries.length);
  for (const [name, value] of entries) {
    w.str(name);
    w.text(value);
  }
}

function readHeaders(r: WireReader): Record<string, string> {
  const headers: Record<string, string> = {};
  const count = r.u16('header count');
  for (let i = 0; i < count; i++) setHeader(headers, r.str('header name'), r.text('header value'));
  return headers;
}

/** Writes a message structure (docs/protocol.md). */
export function writeMessage(w: WireWriter, m: RawMessage): void {
  w.str(m.id);
  w.str(m.subject);
  w.str(m.contentType);
  w.str(m.source);
  w.f64(m.time);
  w.u8((m.key !== undefined ? HAS_KEY : 0) | (m.deliverAt !== undefined ? HAS_DELIVER_AT : 0));
  if (m.key !== undefined) w.str(m.key);
  if (m.deliverAt !== undefined) w.f64(m.deliverAt);
  writeHeaders(w, m.headers);
  w.bytes(m.payload);
}

/**
 * Reads a message structure. With `view`, the payload is a view of the
 * frame's buffer instead of a copy (see `WireReader.view`).
 */
export function readMessage(r: WireReader, view = false): RawMessage {
  const message: RawMessage = {
    id: r.str('id'),
    subject: r.str('subject'),
    contentType: r.str('content type'),
    source: r.str('source'),
    time: r.f64('time'),
    headers: {},
    payload: new Uint8Array(0),
  };
  const flags = r.u8('flags');
  if (flags & HAS_KEY) message.key = r.str('key');
  if (flags & HAS_DELIVER_AT) message.deliverAt = r.f64('deliver at');
  message.headers = readHeaders(r);
  message.payload = view ? r.view('payload') : r.bytes('payload');
  return message;
}

/** See docs/protocol.md. */
export function writeError(w: WireWriter, e: WireError): void {
  w.str(e.code);
  w.text(e.message);
  w.u8(e.retryable ? 1 : 0);
  w.text(e.data === undefined ? '' : JSON.stringify(e.data));
}

/** See docs/protocol.md. */
export function readError(r: WireReader): WireError {
  const error: WireError = {
    code: r.str('error code'),
    message: r.text('error message'),
    retryable: r.u8('retryable') === 1,
  };
  const data = r.text('error data');
  if (data !== '') {
    try {
      error.data = JSON.parse(data);
    } catch {
      throw new CourierError('PROTOCOL_ERROR', 'error data is not valid JSON');
    }
  }
  return error;
}

/** See docs/protocol.md. */
export function writeReply(w: WireWriter, reply: Reply): void {
  w.u8(reply.ok ? 1 : 0);
  if (!reply.ok) {
    writeError(w, reply.error);
    return;
  }
  w.str(reply.contentType);
  writeHeaders(w, reply.headers);
  w.bytes(reply.payload);
}

/** See docs/protocol.md. */
export function readReply(r: WireReader): Reply {
  if (r.u8('reply status') !== 1) return { ok: false, error: readError(r) };
  const contentType = r.str('content type');
  const headers = readHeaders(r);
  return { ok: true, contentType, headers, payload: r.bytes('payload') };
}

/** Writes a dead-letter structure. */
export function writeDeadLetter(w: WireWriter, d: DeadLetter): void {
  w.str(d.group);
  w.str(d.pattern);
  w.u32(d.attempts);
  w.f64(d.time);
  writeError(w, d.error);
  writeMessage(w, d.message);
}

/** Reads a dead-letter structure. */
export function readDeadLetter(r: WireReader): DeadLetter {
  return {
    group: r.str('group'),
    pattern: r.str('pattern'),
    attempts: r.u32('attempts'),
    time: r.f64('time'),
    error: readError(r),
    message: readMessage(r),
  };
}

const MAX_STR = 0xffff;

/**
 * The bytes a message takes in a frame, checking what the frame cannot
 * carry: a `str` field (id, subject, content type, source, key, header name)
 * over 65,535 UTF-8 bytes, or more than 65,535 headers.
 * @throws CourierError `INVALID_MESSAGE` naming the field.
 */
export function messageWireSize(m: RawMessage): number {
  const str = (value: string, field: string): number => {
    const length = Buffer.byteLength(value);
    if (length > MAX_STR) {
      throw new CourierError(
        'INVALID_MESSAGE',
        `${field} of ${length} bytes is longer than the protocol's 65,535; shorten it`,
      );
    }
    return 2 + length;
  };
  const headers = Object.entries(m.headers);
  if (headers.length > MAX_STR)
    throw new CourierError(
      'INVALID_MESSAGE',
      `${headers.length} headers are more than the protocol's 65,535`,
    );
  let size =
    str(m.id, 'id') +
    str(m.subject, 'subject') +
    str(m.contentType, 'content type') +
    str(m.source, 'source') +
    8 +
    1;
  if (m.key !== undefined) size += str(m.key, 'key');
  if (m.deliverAt !== undefined) size += 8;
  size += 2;
  for (const [name, value] of headers)
    size += str(name, `header name ${name.slice(0, 20)}`) + 4 + Buffer.byteLength(value);
  return size + 4 + m.payload.byteLength;
}

/** SUBSCRIBE flag bit 2: the group starts at a stream sequence, given as an f64 after `ackWait`. */
export const DELIVER_FROM_SEQUENCE = 4;
/** SUBSCRIBE flag bit 3: the group starts at a time (ms since the epoch), given as an f64 after `ackWait`. */
export const DELIVER_FROM_TIME = 8;

/** Where a new group starts when not at `new` or `all`. */
export type DeliverFrom = { sequence: number } | { time: number };

/** The SUBSCRIBE flag bits of a start position. */
export function deliverFromFlags(from: DeliverFrom | undefined): number {
  if (from === undefined) return 0;
  return 'sequence' in from ? DELIVER_FROM_SEQUENCE : DELIVER_FROM_TIME;
}

/** Writes the start position's f64 (nothing when there is none). */
export function writeDeliverFrom(w: WireWriter, from: DeliverFrom | undefined): void {
  if (from !== undefined) w.f64('sequence' in from ? from.sequence : from.time);
}

/** Reads the start position the SUBSCRIBE flags announce, checking its value. */
export function readDeliverFrom(r: WireReader, flags: number): DeliverFrom | undefined {
  const bits = flags & (DELIVER_FROM_SEQUENCE | DELIVER_FROM_TIME);
  if (bits === 0) return undefined;
  if (bits === (DELIVER_FROM_SEQUENCE | DELIVER_FROM_TIME))
    throw new CourierError(
      'PROTOCOL_ERROR',
      'SUBSCRIBE sets both deliver-from-sequence and deliver-from-time',
    );
  const value = r.f64(bits === DELIVER_FROM_SEQUENCE ? 'deliver from sequence' : 'deliver from time');
  if (bits === DELIVER_FROM_SEQUENCE) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new CourierError(
        'PROTOCOL_ERROR',
        `deliver-from sequence ${value} is not a whole number of at least 1`,
      );
    return { sequence: value };
  }
  if (!Number.isFinite(value) || value < 0)
    throw new CourierError(
      'PROTOCOL_ERROR',
      `deliver-from time ${value} is not a time in ms since the epoch`,
    );
  return { time: value };
}

/** The bytes an error structure takes in a frame. */
export function errorWireSize(e: WireError): number {
  const data = e.data === undefined ? '' : JSON.stringify(e.data);
  return 2 + Buffer.byteLength(e.code) + 4 + Buffer.byteLength(e.message) + 1 + 4 + Buffer.byteLength(data);
}

/** The bytes a dead-letter structure takes in a frame (to cut DEAD_LETTERS_RESULT pages by). */
export function deadLetterWireSize(d: DeadLetter): number {
  return (
    2 +
    Buffer.byteLength(d.group) +
    2 +
    Buffer.byteLength(d.pattern) +
    4 +
    8 +
    errorWireSize(d.error) +
    messageWireSize(d.message)
  );
}
