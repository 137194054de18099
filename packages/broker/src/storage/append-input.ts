/**
 * What a stream log append takes, how it ends, and the checks on its input
 * that need no state of the log: the id's length and the record's size.
 */
import { CourierError } from '@courier/core';
import { MAX_ID_BYTES, recordSize } from './record-codec.js';

/** What to append. */
export interface AppendInput {
  /** The opaque record payload (the engine stores an encoded message here). */
  payload: Uint8Array;
  /** The message id: the dedup key, stored with the record so dedup survives restarts. */
  id?: string;
}

/**
 * Told once how an append ended: `error` set when it was not stored, else its
 * sequence and whether it was a duplicate. The callback form of
 * `StreamLog.append`, for hot paths that confirm without a promise per record.
 */
export type AppendCallback = (error: unknown, sequence: number, duplicate: boolean) => void;

/** The outcome of an append. */
export interface AppendResult {
  /** The record's sequence (for a duplicate, the sequence of the record already stored). */
  sequence: number;
  /** True when the id was already stored inside the dedup window and nothing new was written. */
  duplicate: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * The id as UTF-8 and the record's frame size, or why the append is refused:
 * `INVALID_MESSAGE` for an id over 65,535 bytes, `PAYLOAD_TOO_LARGE` past
 * `maxRecordBytes`. `id` is the input's id with `''` taken as none.
 */
export function checkAppend(
  input: AppendInput,
  id: string | undefined,
  limits: { maxRecordBytes: number; stream: string },
): { idBytes: Buffer; size: number } | CourierError {
  const idBytes = id === undefined ? EMPTY : Buffer.from(id, 'utf8');
  if (idBytes.length > MAX_ID_BYTES) {
    return new CourierError(
      'INVALID_MESSAGE',
      `message id of ${idBytes.length} bytes exceeds ${MAX_ID_BYTES}; use a shorter id`,
    );
  }
  if (idBytes.length + input.payload.length > limits.maxRecordBytes) {
    return new CourierError(
      'PAYLOAD_TOO_LARGE',
      `record of ${idBytes.length + input.payload.length} bytes exceeds maxRecordBytes ` +
        `${limits.maxRecordBytes} of stream ${limits.stream}; raise the limit or store a reference`,
    );
  }
  return { idBytes, size: recordSize(idBytes.length, input.payload.length) };
}
