/**
 * Reads over a stream's segments: one record by sequence, a range, and the
 * first sequence at or after a time. Each lookup binary-searches the
 * segments, then the sparse index, then scans at most one index interval.
 */
import { CourierError } from '@courier/core';
import type { RecordScanner, ScannedRecord } from './record-scanner.js';
import type { Segment } from './segment.js';

/** A stored record as reads return it. */
export interface StoredRecord {
  /** The record's sequence in its stream. */
  sequence: number;
  /** Milliseconds since the Unix epoch when the log stored it. */
  time: number;
  /** The message id given at append, if any. */
  id: string | undefined;
  /** The payload given at append. */
  payload: Buffer;
}

/** Limits of {@link readRange}. */
export interface ReadRangeOptions {
  /** The first sequence wanted; records before the stream's first are skipped. */
  from: number;
  /** Most records to return (default 256). */
  maxRecords?: number;
  /** Stop once this many payload bytes are collected (default 1 MiB); at least one record is returned. */
  maxBytes?: number;
}

/** Index of the last segment whose base is `<= sequence`, or -1. */
export function segmentIndexFor(segments: readonly Segment[], sequence: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.base <= sequence) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function damaged(segment: Segment, scanner: RecordScanner): CourierError {
  const problem = scanner.problem!;
  return new CourierError(
    'STORAGE_ERROR',
    `segment ${segment.path} is damaged at byte ${problem.position} (${problem.reason}); ` +
      'the disk corrupted committed data: restore the stream from a replica or backup, or restart the broker ' +
      'so recovery drops the damaged records',
    { retryable: false, data: { path: segment.path, position: problem.position } },
  );
}

function stored(record: ScannedRecord): StoredRecord {
  return { sequence: record.sequence, time: record.time, id: record.id, payload: record.payload };
}

/** The record at `sequence`, or `undefined` when the stream does not hold it. */
export async function readOne(
  segments: readonly Segment[],
  sequence: number,
): Promise<StoredRecord | undefined> {
  const segment = segments[segmentIndexFor(segments, sequence)];
  if (!segment || sequence > segment.lastSequence) return undefined;
  return segment.reading(async () => {
    const scanner = segment.scannerFromSequence(sequence, true);
    for (let r = await scanner.next(); r; r = await scanner.next()) {
      if (r.sequence === sequence) return stored(r);
    }
    if (scanner.problem) throw damaged(segment, scanner);
    return undefined;
  });
}

/** Records from `options.from` on, in order, within the limits. */
export async function readRange(
  segments: readonly Segment[],
  options: ReadRangeOptions,
): Promise<StoredRecord[]> {
  const maxRecords = options.maxRecords ?? 256;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const out: StoredRecord[] = [];
  let bytes = 0;
  let next = options.from;
  for (let i = Math.max(0, segmentIndexFor(segments, next)); i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.count === 0 || segment.lastSequence < next) continue;
    const start = Math.max(next, segment.base);
    const full = await segment.reading(async () => {
      const scanner = segment.scannerFromSequence(start, true);
      for (let r = await scanner.next(); r; r = await scanner.next()) {
        if (r.sequence < start) continue;
        if (out.length > 0 && bytes + r.payload.length > maxBytes) return true;
        out.push(stored(r));
        bytes += r.payload.length;
        next = r.sequence + 1;
        if (out.length >= maxRecords) return true;
      }
      if (scanner.problem) throw damaged(segment, scanner);
      return false;
    });
    if (full) break;
  }
  return out;
}

/** The first sequence stored at or after `time`, or `undefined` when every record is older. */
export async function findSequenceAtTime(
  segments: readonly Segment[],
  time: number,
): Promise<number | undefined> {
  // Record times never decrease, so segments are ordered by their last time too.
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = segments[mid]!;
    if (s.count > 0 && s.lastTime >= time) {
      found = mid;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  const segment = segments[found];
  if (!segment) return undefined;
  return segment.reading(async () => {
    const scanner = segment.scannerFromTime(time, false);
    for (let r = await scanner.next(); r; r = await scanner.next()) if (r.time >= time) return r.sequence;
    if (scanner.problem) throw damaged(segment, scanner);
    return undefined;
  });
}
