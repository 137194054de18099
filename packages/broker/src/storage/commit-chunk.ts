/**
 * Forming one write of a group commit: takes appends from the batch while
 * they fit the active segment's size and count limits, assigns consecutive
 * sequences and one time, and encodes their frames into a single buffer.
 */
import { encodeRecord } from './record-codec.js';
import type { ChunkEntry, Segment } from './segment.js';

/** An append waiting for its commit. */
export interface PendingAppend {
  id: string | undefined;
  idBytes: Buffer;
  payload: Uint8Array;
  /** Frame bytes. */
  size: number;
  /** Told once how it ended (see `AppendCallback` in append-input.ts). */
  done(error: unknown, sequence: number, duplicate: boolean): void;
  /** Appends of the same id made while this one waited: they end as duplicates of it. */
  followers: ((error: unknown, sequence: number, duplicate: boolean) => void)[] | undefined;
}

/** Inputs of {@link formChunk}. */
export interface ChunkRequest {
  batch: readonly PendingAppend[];
  /** Index in `batch` of the first append to take. */
  from: number;
  /** The segment the chunk goes to; its first append always fits an empty segment. */
  segment: Segment;
  /** The sequence of the first append taken. */
  firstSequence: number;
  /** The time stored in every record of the chunk. */
  time: number;
  maxSegmentBytes: number;
  maxSegmentMessages: number;
}

/** The encoded chunk, its entries, and the index after the last append taken. */
export function formChunk(request: ChunkRequest): { end: number; chunk: Buffer; entries: ChunkEntry[] } {
  const { batch, from, segment, firstSequence, time } = request;
  let end = from + 1;
  let bytes = batch[from]!.size;
  while (end < batch.length) {
    const next = batch[end]!;
    if (segment.size + bytes + next.size > request.maxSegmentBytes) break;
    if (segment.count + (end - from) >= request.maxSegmentMessages) break;
    bytes += next.size;
    end++;
  }
  const chunk = Buffer.allocUnsafe(bytes);
  const entries: ChunkEntry[] = [];
  let offset = 0;
  for (let k = from; k < end; k++) {
    const p = batch[k]!;
    const sequence = firstSequence + (k - from);
    entries.push({ sequence, time, offset });
    offset = encodeRecord(chunk, offset, { sequence, time, id: p.idBytes, payload: p.payload });
  }
  return { end, chunk, entries };
}
