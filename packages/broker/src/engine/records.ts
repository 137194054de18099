/**
 * How the engine stores messages and dead letters in its logs: the wire
 * protocol's own message and dead-letter structures (docs/protocol.md), so
 * one codec serves the network and the disk.
 */
import type { DeadLetter, RawMessage } from '@courier/core';
import { readDeadLetter, readMessage, writeDeadLetter, writeMessage } from '../protocol/structures.js';
import { WireReader } from '../protocol/wire-reader.js';
import { WireWriter } from '../protocol/wire-writer.js';

/** A message as a log record's payload. */
export function encodeMessage(message: RawMessage): Buffer {
  const writer = new WireWriter(256 + message.payload.byteLength);
  writeMessage(writer, message);
  return writer.take();
}

/** A message from a log record's payload. */
export function decodeMessage(payload: Buffer): RawMessage {
  const reader = new WireReader(payload, { what: 'stored message' });
  const message = readMessage(reader);
  reader.end();
  return message;
}

/** A dead letter as a log record's payload. */
export function encodeDeadLetter(entry: DeadLetter): Buffer {
  const writer = new WireWriter(512 + entry.message.payload.byteLength);
  writeDeadLetter(writer, entry);
  return writer.take();
}

/** A dead letter from a log record's payload. */
export function decodeDeadLetter(payload: Buffer): DeadLetter {
  const reader = new WireReader(payload, { what: 'stored dead letter' });
  const entry = readDeadLetter(reader);
  reader.end();
  return entry;
}
