/**
 * One segment file of a stream: records with consecutive sequences from the
 * sequence in its name, its sparse index and its counters. Only the bytes up
 * to `size` are committed; a write that fails is cut back to `size` before
 * anything else is written, so the file never holds a rejected record.
 */
import { join } from 'node:path';
import type { FileLayer, StorageFile } from './file-layer.js';
import { RecordScanner, type ScanProblem } from './record-scanner.js';
import { SparseIndex } from './segment-index.js';

const NAME = /^(\d{20})\.log$/;

/** The file name of the segment whose first sequence is `base`. */
export function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.log`;
}

/** The base sequence encoded in a segment file name, or `undefined` for other files. */
export function parseSegmentName(name: string): number | undefined {
  const match = NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** A record about to be committed: where its frame starts (relative to the chunk) and its header fields. */
export interface ChunkEntry {
  sequence: number;
  time: number;
  offset: number;
}

/** Options to open or create a segment. */
export interface SegmentOptions {
  layer: FileLayer;
  dir: string;
  base: number;
  indexIntervalBytes: number;
}

/** See the module comment. */
export class Segment {
  readonly base: number;
  readonly path: string;
  readonly indexPath: string;
  readonly file: StorageFile;
  /** Committed bytes. */
  size = 0;
  /** Committed records. */
  count = 0;
  firstTime = 0;
  lastTime = 0;
  index: SparseIndex;
  /** Bytes written after `size` by a failed write and not yet cut away. */
  #dirty = false;
  #readers = 0;
  #retired = false;

  private constructor(options: SegmentOptions, file: StorageFile) {
    this.base = options.base;
    this.path = join(options.dir, segmentName(options.base));
    this.indexPath = this.path.replace(/\.log$/, '.idx');
    this.file = file;
    this.index = new SparseIndex(options.indexIntervalBytes);
  }

  /** Creates (or empties) the segment file. The caller syncs the directory. */
  static async create(options: SegmentOptions): Promise<Segment> {
    const file = await options.layer.open(join(options.dir, segmentName(options.base)), 'replace');
    return new Segment(options, file);
  }

  /** Opens an existing segment; counters are filled by {@link Segment.scan} or an index file. */
  static async open(options: SegmentOptions): Promise<Segment> {
    const file = await options.layer.open(join(options.dir, segmentName(options.base)), 'read-write');
    return new Segment(options, file);
  }

  /** The last committed sequence (`base - 1` when empty). */
  get lastSequence(): number {
    return this.base + this.count - 1;
  }

  /**
   * Rebuilds the counters and the index from the file, verifying every
   * record. Returns the problem that stopped the scan, if any; the good bytes
   * end at `size`.
   */
  async scan(): Promise<{ fileSize: number; problem: ScanProblem | undefined }> {
    const fileSize = await this.file.size();
    this.size = 0;
    this.count = 0;
    this.index.truncate(0);
    const scanner = new RecordScanner(this.file, {
      from: 0,
      end: fileSize,
      expectSequence: this.base,
      withBody: false,
    });
    for (let record = await scanner.next(); record; record = await scanner.next()) {
      this.index.observe(record.sequence, record.time, record.position);
      if (this.count === 0) this.firstTime = record.time;
      this.lastTime = record.time;
      this.count++;
    }
    this.size = scanner.position;
    return { fileSize, problem: scanner.problem };
  }

  /** Cuts the file back to the committed size and makes that durable (recovery). */
  async truncateToSize(): Promise<void> {
    await this.file.truncate(this.size);
    await this.file.datasync();
    this.#dirty = false;
  }

  /**
   * Writes `chunk` after the committed bytes and, when `sync`, forces it to
   * disk. On any failure the file is cut back to the committed size (or
   * marked so the next write does it first) and the error is rethrown.
   */
  async writeChunk(chunk: Buffer, sync: boolean): Promise<void> {
    if (this.#dirty) {
      await this.file.truncate(this.size);
      this.#dirty = false;
    }
    try {
      await this.file.write(chunk, this.size);
      if (sync) await this.file.datasync();
    } catch (error) {
      this.#dirty = true;
      try {
        await this.file.truncate(this.size);
        this.#dirty = false;
      } catch {
        // Still dirty: the next write truncates first, or fails without writing.
      }
      throw error;
    }
  }

  /** Advances the committed counters over a chunk that {@link Segment.writeChunk} stored. */
  commitChunk(entries: readonly ChunkEntry[], chunkBytes: number): void {
    for (const entry of entries) {
      this.index.observe(entry.sequence, entry.time, this.size + entry.offset);
      if (this.count === 0) this.firstTime = entry.time;
      this.lastTime = entry.time;
      this.count++;
    }
    this.size += chunkBytes;
  }

  /** A scanner over committed records from `sequence` (which must be in this segment). */
  scannerFromSequence(sequence: number, withBody: boolean): RecordScanner {
    const entry = this.index.seekSequence(sequence) ?? { sequence: this.base, position: 0 };
    return new RecordScanner(this.file, {
      from: entry.position,
      end: this.size,
      expectSequence: entry.sequence,
      withBody,
      readBytes: 64 * 1024,
    });
  }

  /** A scanner over committed records starting at or before the first with time `>= time`. */
  scannerFromTime(time: number, withBody: boolean): RecordScanner {
    const entry = this.index.seekTime(time) ?? { sequence: this.base, position: 0 };
    return new RecordScanner(this.file, {
      from: entry.position,
      end: this.size,
      expectSequence: entry.sequence,
      withBody,
      readBytes: 64 * 1024,
    });
  }

  /** Runs `read` while keeping the file open even if retention drops the segment meanwhile. */
  async reading<T>(read: () => Promise<T>): Promise<T> {
    this.#readers++;
    try {
      return await read();
    } finally {
      this.#readers--;
      if (this.#retired && this.#readers === 0) await this.file.close().catch(() => undefined);
    }
  }

  /** Closes the file now, or after the last reader when reads are in flight. */
  async retire(): Promise<void> {
    if (this.#retired) return;
    this.#retired = true;
    if (this.#readers === 0) await this.file.close();
  }
}
