/**
 * The sparse index of one segment: an entry (sequence, time, byte position)
 * for the first record and then roughly every `intervalBytes`, so a lookup by
 * sequence or by time binary-searches the entries and reads at most one
 * interval of the segment. Sealed segments persist it as a `.idx` file with
 * a checksum; the segment stays the truth, and an index that is missing or
 * does not match is rebuilt by scanning.
 */
import { crc32c } from '@node-rs/crc32';
import { readU64, writeU64 } from './binary.js';

const MAGIC = 0x58444943; // 'CIDX' little-endian
const VERSION = 1;
const HEADER_BYTES = 56;
const ENTRY_BYTES = 24;

/** What a sealed segment's index file records about the segment. */
export interface SegmentSummary {
  /** The first sequence the segment was created for (its file name). */
  base: number;
  /** Bytes of the segment file the index describes. */
  size: number;
  /** Records in the segment. */
  count: number;
  /** Time of the first record, 0 when empty. */
  firstTime: number;
  /** Time of the last record, 0 when empty. */
  lastTime: number;
}

/** The in-memory sparse index; times are non-decreasing because the log stores them so. */
export class SparseIndex {
  readonly #interval: number;
  readonly sequences: number[] = [];
  readonly times: number[] = [];
  readonly positions: number[] = [];

  /** `intervalBytes`: the distance between entries. */
  constructor(intervalBytes: number) {
    this.#interval = intervalBytes;
  }

  /** Number of entries. */
  get length(): number {
    return this.positions.length;
  }

  /** Notes a record at `position`; keeps an entry when it is the first or an interval past the last. */
  observe(sequence: number, time: number, position: number): void {
    const last = this.positions[this.positions.length - 1];
    if (last !== undefined && position - last < this.#interval) return;
    this.sequences.push(sequence);
    this.times.push(time);
    this.positions.push(position);
  }

  /** Forgets entries at or past `size` (after a truncation). */
  truncate(size: number): void {
    while (this.positions.length > 0 && this.positions[this.positions.length - 1]! >= size) {
      this.positions.pop();
      this.sequences.pop();
      this.times.pop();
    }
  }

  /** The entry to start a scan for `sequence` from: the last one at or before it. */
  seekSequence(sequence: number): { sequence: number; position: number } | undefined {
    const i = lastAtOrBefore(this.sequences, sequence);
    if (i < 0) return undefined;
    return { sequence: this.sequences[i]!, position: this.positions[i]! };
  }

  /** The entry to start a scan for the first record at or after `time`: the last one strictly before it. */
  seekTime(time: number): { sequence: number; position: number } | undefined {
    const i = lastAtOrBefore(this.times, time - 1);
    const at = Math.max(i, 0);
    if (this.positions.length === 0) return undefined;
    return { sequence: this.sequences[at]!, position: this.positions[at]! };
  }

  /** The index file bytes for a sealed segment. */
  encode(summary: SegmentSummary): Buffer {
    const buffer = Buffer.alloc(HEADER_BYTES + this.length * ENTRY_BYTES + 4);
    buffer.writeUInt32LE(MAGIC, 0);
    buffer.writeUInt32LE(VERSION, 4);
    writeU64(buffer, summary.base, 8);
    writeU64(buffer, summary.size, 16);
    writeU64(buffer, summary.count, 24);
    writeU64(buffer, summary.firstTime, 32);
    writeU64(buffer, summary.lastTime, 40);
    buffer.writeUInt32LE(this.#interval, 48);
    buffer.writeUInt32LE(this.length, 52);
    for (let i = 0; i < this.length; i++) {
      const at = HEADER_BYTES + i * ENTRY_BYTES;
      writeU64(buffer, this.sequences[i]!, at);
      writeU64(buffer, this.times[i]!, at + 8);
      writeU64(buffer, this.positions[i]!, at + 16);
    }
    const end = buffer.length - 4;
    buffer.writeUInt32LE(crc32c(buffer.subarray(0, end)), end);
    return buffer;
  }

  /** Parses an index file; `undefined` when it is damaged or written with another interval. */
  static decode(
    bytes: Buffer,
    intervalBytes: number,
  ): { index: SparseIndex; summary: SegmentSummary } | undefined {
    if (bytes.length < HEADER_BYTES + 4) return undefined;
    const end = bytes.length - 4;
    if (bytes.readUInt32LE(end) !== crc32c(bytes.subarray(0, end))) return undefined;
    if (bytes.readUInt32LE(0) !== MAGIC || bytes.readUInt32LE(4) !== VERSION) return undefined;
    if (bytes.readUInt32LE(48) !== intervalBytes) return undefined;
    const count = bytes.readUInt32LE(52);
    if (HEADER_BYTES + count * ENTRY_BYTES !== end) return undefined;
    const summary: SegmentSummary = {
      base: readU64(bytes, 8),
      size: readU64(bytes, 16),
      count: readU64(bytes, 24),
      firstTime: readU64(bytes, 32),
      lastTime: readU64(bytes, 40),
    };
    const index = new SparseIndex(intervalBytes);
    for (let i = 0; i < count; i++) {
      const at = HEADER_BYTES + i * ENTRY_BYTES;
      index.sequences.push(readU64(bytes, at));
      index.times.push(readU64(bytes, at + 8));
      index.positions.push(readU64(bytes, at + 16));
    }
    return { index, summary };
  }
}

/** Index of the last element `<= value` in ascending `values`, or -1. */
function lastAtOrBefore(values: readonly number[], value: number): number {
  let lo = 0;
  let hi = values.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
