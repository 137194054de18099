/**
 * How a message is laid out in a stream entry: the id and subject in fields
 * of their own (readable with `redis-cli XRANGE`), the other attributes as
 * one JSON field, and the payload as raw bytes, last. Few fields keep every
 * command short: each argument costs the client as much as a kilobyte of
 * payload.
 *
 * | field | attribute |
 * | --- | --- |
 * | `i` | id |
 * | `s` | subject |
 * | `m` | JSON: `c` content type, `t` time, `o` source, `h` headers, `k` key?, `w` deliverAt? |
 * | `p` | payload bytes |
 *
 * Entries in a group's private stream also carry `a` first: the deliveries
 * made before the message was moved there (retries keep counting attempts).
 */
import { CourierError, type RawMessage } from '@courier/core';

/** A flat field/value list as Redis takes and returns it. */
export type Fields = Array<string | Buffer>;

interface Meta {
  c: string;
  t: number;
  o: string;
  h: Record<string, string>;
  k?: string;
  w?: number;
}

/** The `m` field: every attribute but the id, subject and payload. */
export function encodeMeta(message: RawMessage): string {
  const meta: Meta = { c: message.contentType, t: message.time, o: message.source, h: message.headers };
  if (message.key !== undefined) meta.k = message.key;
  if (message.deliverAt !== undefined) meta.w = message.deliverAt;
  return JSON.stringify(meta);
}

/** The payload as a Buffer over the same memory. */
export function payloadBuffer(message: RawMessage): Buffer {
  const { payload } = message;
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** The fields of a message, payload last. */
export function encodeFields(message: RawMessage): Fields {
  return ['i', message.id, 's', message.subject, 'm', encodeMeta(message), 'p', payloadBuffer(message)];
}

/** A decoded entry: the message and the deliveries made before it reached this stream. */
export interface DecodedEntry {
  message: RawMessage;
  priorAttempts: number;
}

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

function malformed(why: string): CourierError {
  return new CourierError('INVALID_MESSAGE', `stream entry is not a Courier message: ${why}`);
}

function parseHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed('headers are not an object');
  }
  const entries = Object.entries(value);
  for (const [name, header] of entries) {
    if (typeof header !== 'string') throw malformed(`header ${name} is not a string`);
  }
  // fromEntries defines own properties, so a header named __proto__ stays a header.
  return Object.fromEntries(entries) as Record<string, string>;
}

function integer(value: string, field: string): number {
  const n = Number(value);
  if (value === '' || !Number.isSafeInteger(n)) throw malformed(`field ${field} is not an integer`);
  return n;
}

function parseMeta(json: string): Meta {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw malformed('field m is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw malformed('field m is not an object');
  const m = parsed as Record<string, unknown>;
  if (typeof m['c'] !== 'string' || typeof m['o'] !== 'string')
    throw malformed('content type or source is missing');
  if (typeof m['t'] !== 'number' || !Number.isSafeInteger(m['t'])) throw malformed('time is not an integer');
  const meta: Meta = { c: m['c'], t: m['t'], o: m['o'], h: parseHeaders(m['h']) };
  if (m['k'] !== undefined) {
    if (typeof m['k'] !== 'string') throw malformed('key is not a string');
    meta.k = m['k'];
  }
  if (m['w'] !== undefined) {
    if (typeof m['w'] !== 'number' || !Number.isSafeInteger(m['w']))
      throw malformed('deliverAt is not an integer');
    meta.w = m['w'];
  }
  return meta;
}

/**
 * Reads a message back from its fields.
 * @throws CourierError `INVALID_MESSAGE` when a field is missing or malformed (an entry another program wrote).
 */
export function decodeFields(flat: ReadonlyArray<Buffer | string>): DecodedEntry {
  const values = new Map<string, Buffer | string>();
  for (let i = 0; i + 1 < flat.length; i += 2)
    values.set(text(flat[i] as Buffer | string), flat[i + 1] as Buffer | string);
  const need = (field: string): string => {
    const value = values.get(field);
    if (value === undefined) throw malformed(`field ${field} is missing`);
    return text(value);
  };
  const id = need('i');
  const subject = need('s');
  if (id === '' || subject === '') throw malformed('empty id or subject');
  const payload = values.get('p');
  if (payload === undefined) throw malformed('field p is missing');
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const meta = parseMeta(need('m'));
  const message: RawMessage = {
    id,
    subject,
    // A copy: the consumer owns its delivery, not a view into the reply buffer.
    payload: new Uint8Array(bytes),
    contentType: meta.c,
    headers: meta.h,
    time: meta.t,
    source: meta.o,
  };
  if (meta.k !== undefined) message.key = meta.k;
  if (meta.w !== undefined) message.deliverAt = meta.w;
  const prior = values.get('a');
  return { message, priorAttempts: prior === undefined ? 0 : integer(text(prior), 'a') };
}

/**
 * Length-framed parts in one buffer (u32 count, then u32 length and bytes per
 * part), for values that must travel as one string: requests and replies.
 */
export function packFrames(parts: ReadonlyArray<string | Uint8Array>): Buffer {
  const buffers = parts.map((part) =>
    typeof part === 'string'
      ? Buffer.from(part, 'utf8')
      : Buffer.from(part.buffer, part.byteOffset, part.byteLength),
  );
  const out = Buffer.allocUnsafe(4 + buffers.reduce((n, b) => n + 4 + b.length, 0));
  out.writeUInt32BE(buffers.length, 0);
  let at = 4;
  for (const b of buffers) {
    out.writeUInt32BE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/**
 * Splits what `packFrames` joined.
 * @throws CourierError `INVALID_MESSAGE` when the framing is broken.
 */
export function unpackFrames(buffer: Buffer): Buffer[] {
  if (buffer.length < 4) throw malformed('frame header is truncated');
  const count = buffer.readUInt32BE(0);
  const parts: Buffer[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > buffer.length) throw malformed('frame length is truncated');
    const length = buffer.readUInt32BE(at);
    if (at + 4 + length > buffer.length) throw malformed('frame is truncated');
    parts.push(buffer.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return parts;
}
