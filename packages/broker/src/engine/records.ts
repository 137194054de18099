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

/**
 * Where a message read from a log keeps the structure it was decoded from,
 * so the server sends those bytes in a DELIVER frame instead of encoding the
 * message again. A non-enumerable symbol property, far cheaper per message
 * than a WeakMap: a copy made by spreading (`{ ...message, headers }`) does
 * not carry it, so a changed message is encoded afresh, and comparisons of
 * messages do not see it.
 */
const STORED_FORM = Symbol('courier.storedForm');

type WithStoredForm = RawMessage & { readonly [STORED_FORM]?: Uint8Array };

/** The bytes `message` was decoded from by {@link decodeMessage}, if it was. */
export function storedForm(message: RawMessage): Uint8Array | undefined {
  return (message as WithStoredForm)[STORED_FORM];
}

/** A message from a log record's payload; it remembers the payload as its {@link storedForm}. */
export function decodeMessage(payload: Buffer): RawMessage {
  const reader = new WireReader(payload, { what: 'stored message' });
  const message = readMessage(reader);
  reader.end();
  Object.defineProperty(message, STORED_FORM, { value: payload });
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
