/**
 * The dead letter for a stored record that does not decode as a message
 * (written by another version, or damaged in a way its checksum missed). A
 * group never skips such a record silently: it dead-letters it with the
 * reason, the raw bytes as payload, and where it was stored.
 */
import type { DeadLetter } from '@courier/core';
import type { StoredRecord } from '../storage/segment-reads.js';

/** The dead letter of an undecodable record of `stream` in a group. */
export function undecodableDeadLetter(options: {
  record: StoredRecord;
  stream: string;
  group: { readonly name: string; readonly pattern: string };
  error: unknown;
}): DeadLetter {
  const { record, stream, group } = options;
  const reason = options.error instanceof Error ? options.error.message : String(options.error);
  return {
    message: {
      id: record.id ?? `${stream}:${record.sequence}`,
      // The subject is unknown: the group's pattern stands in, so a replay goes back to the group.
      subject: group.pattern,
      payload: record.payload,
      contentType: 'application/octet-stream',
      headers: { 'courier-stream': stream, 'courier-sequence': String(record.sequence) },
      time: record.time,
      source: 'courier-broker',
    },
    group: group.name,
    pattern: group.pattern,
    error: {
      code: 'CODEC_ERROR',
      message:
        `record ${record.sequence} of stream ${stream} does not decode as a message (${reason}); it was written ` +
        'by another version or damaged: inspect the dead letter, then purge it',
      retryable: false,
      data: { stream, sequence: record.sequence },
    },
    attempts: 0,
    time: Date.now(),
  };
}
