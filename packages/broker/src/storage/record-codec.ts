/**
 * The record frame of a segment file: a fixed 28-byte header, the message id
 * and the opaque payload, protected by a CRC32C (from `@node-rs/crc32`) that
 * covers everything after the checksum itself, the length included. See
 * `docs/storage.md` for the byte layout.
 */
import { crc32c } from '@node-rs/crc32';
import { readU64, writeU64 } from './binary.js';

/** Bytes of the fixed record header. */
export const RECORD_HEADER_BYTES = 28;
/** The record format version written in byte 8 of every record. */
export const RECORD_VERSION = 1;
/** The longest message id, in UTF-8 bytes, that a record can carry. */
export const MAX_ID_BYTES = 0xffff;

/** One record to encode. */
export interface RecordInput {
  /** The record's sequence in its stream. */
  sequence: number;
  /** Milliseconds since the Unix epoch when the log stored it. */
  time: number;
  /** The message id as UTF-8 bytes (empty when the message has no id). */
  id: Uint8Array;
  /** The opaque payload. */
  payload: Uint8Array;
}

/** A decoded record header. */
export interface RecordHeader {
  /** Total frame bytes, header included. */
  size: number;
  sequence: number;
  time: number;
  idLength: number;
}

/** Total frame bytes of a record with this id and payload length. */
export function recordSize(idBytes: number, payloadBytes: number): number {
  return RECORD_HEADER_BYTES + idBytes + payloadBytes;
}

/**
 * Encodes `record` into `target` at `offset` and returns the offset after it.
 * The caller sizes `target` with {@link recordSize}.
 */
export function encodeRecord(target: Buffer, offset: number, record: RecordInput): number {
  const size = recordSize(record.id.length, record.payload.length);
  target.writeUInt32LE(size, offset + 4);
  target[offset + 8] = RECORD_VERSION;
  target[offset + 9] = 0;
  target.writeUInt16LE(record.id.length, offset + 10);
  writeU64(target, record.sequence, offset + 12);
  writeU64(target, record.time, offset + 20);
  target.set(record.id, offset + RECORD_HEADER_BYTES);
  target.set(record.payload, offset + RECORD_HEADER_BYTES + record.id.length);
  target.writeUInt32LE(crc32c(target.subarray(offset + 4, offset + size)), offset);
  return offset + size;
}

/**
 * Why a frame is not a valid record: `torn` when the bytes stop before the
 * frame does (an interrupted write), `corrupt` when the bytes are there but
 * wrong (a bad checksum, version or length).
 */
export type FrameProblem = { kind: 'torn' | 'corrupt'; reason: string };

/**
 * Decodes the header at `offset` of `buffer`, whose last byte is at file
 * position `available - 1` relative to `offset` (i.e. `available` bytes of the
 * file remain from `offset`). Returns the header, a problem, or `undefined`
 * when `buffer` holds too few bytes to decide and more must be read.
 */
export function decodeHeader(
  buffer: Buffer,
  offset: number,
  available: number,
): RecordHeader | FrameProblem | undefined {
  if (available < RECORD_HEADER_BYTES) {
    return { kind: 'torn', reason: `${available} trailing bytes are shorter than a record header` };
  }
  if (buffer.length - offset < RECORD_HEADER_BYTES) return undefined;
  const size = buffer.readUInt32LE(offset + 4);
  const version = buffer[offset + 8];
  const idLength = buffer.readUInt16LE(offset + 10);
  if (version !== RECORD_VERSION) {
    return { kind: 'corrupt', reason: `unknown record version ${String(version)}` };
  }
  if (size < RECORD_HEADER_BYTES + idLength) {
    return { kind: 'corrupt', reason: `record length ${size} is shorter than its header and id` };
  }
  if (size > available) {
    return { kind: 'torn', reason: `record claims ${size} bytes but only ${available} remain` };
  }
  const sequence = readU64(buffer, offset + 12);
  const time = readU64(buffer, offset + 20);
  if (sequence < 0 || time < 0) return { kind: 'corrupt', reason: 'sequence or time out of range' };
  return { size, sequence, time, idLength };
}

/** True when the frame of `size` bytes at `offset` matches its checksum. */
export function checksumMatches(buffer: Buffer, offset: number, size: number): boolean {
  return buffer.readUInt32LE(offset) === crc32c(buffer.subarray(offset + 4, offset + size));
}

/** True when `value` is a {@link FrameProblem} rather than a header. */
export function isProblem(value: RecordHeader | FrameProblem): value is FrameProblem {
  return 'kind' in value;
}
