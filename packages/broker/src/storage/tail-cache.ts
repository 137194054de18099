/**
 * The newest records of a stream log, kept in memory after their commit so
 * groups that keep up with the stream (the usual case) read them without a
 * disk read: a publish is delivered from the very buffer that was written.
 * Only committed records enter (after the write and, under `sync`, the
 * fdatasync), sequences are consecutive, and retention trims it from the
 * front like the log, so a read answers the same from here as from disk.
 */
import type { StoredRecord } from './segment-reads.js';

/** Records the cache keeps at most, by default. */
export const TAIL_RECORDS = 8192;
/** Payload bytes the cache keeps at most, by default (one larger record always fits). */
export const TAIL_BYTES = 8 * 1024 * 1024;

/** See the module comment. */
export class TailCache {
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  #records: (StoredRecord | undefined)[] = [];
  #head = 0;
  #bytes = 0;

  constructor(options: { maxRecords?: number; maxBytes?: number } = {}) {
    this.#maxRecords = options.maxRecords ?? TAIL_RECORDS;
    this.#maxBytes = options.maxBytes ?? TAIL_BYTES;
  }

  /** The first sequence held, or `undefined` when empty. */
  get first(): number | undefined {
    return this.#records[this.#head]?.sequence;
  }

  /** Records held. */
  get size(): number {
    return this.#records.length - this.#head;
  }

  /** Adds a committed record; its sequence follows the last one held (else the cache starts again from it). */
  add(record: StoredRecord): void {
    const last = this.#records[this.#records.length - 1];
    if (last !== undefined && this.size > 0 && record.sequence !== last.sequence + 1) this.clear();
    this.#records.push(record);
    this.#bytes += record.payload.length;
    while (this.size > 1 && (this.size > this.#maxRecords || this.#bytes > this.#maxBytes)) this.#shift();
  }

  /** Forgets every record below `sequence` (retention dropped them from the log). */
  dropBelow(sequence: number): void {
    while (this.size > 0 && (this.#records[this.#head] as StoredRecord).sequence < sequence) this.#shift();
  }

  /** Forgets everything. */
  clear(): void {
    this.#records = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  /** The record at `sequence` if held. */
  get(sequence: number): StoredRecord | undefined {
    const first = this.first;
    if (first === undefined || sequence < first) return undefined;
    return this.#records[this.#head + (sequence - first)];
  }

  /**
   * Records from `from` on within the limits (at least one), or `undefined`
   * when `from` is not held (older, or past the newest), so the caller reads the log.
   */
  range(from: number, maxRecords: number, maxBytes: number): StoredRecord[] | undefined {
    const first = this.first;
    if (first === undefined || from < first) return undefined;
    let at = this.#head + (from - first);
    if (at >= this.#records.length) return undefined;
    const out: StoredRecord[] = [];
    let bytes = 0;
    for (; at < this.#records.length && out.length < maxRecords; at++) {
      const record = this.#records[at] as StoredRecord;
      if (out.length > 0 && bytes + record.payload.length > maxBytes) break;
      out.push(record);
      bytes += record.payload.length;
    }
    return out;
  }

  #shift(): void {
    const record = this.#records[this.#head] as StoredRecord;
    this.#records[this.#head] = undefined;
    this.#head++;
    this.#bytes -= record.payload.length;
    // Compact now and then, so the array does not grow without bound.
    if (this.#head >= 4096 && this.#head * 2 >= this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }
}
