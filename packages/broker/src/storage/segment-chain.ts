/**
 * The segments of one stream, oldest first, and the write side of them: the
 * active (last) segment that takes every write, the sequence and time the
 * next record gets, rolling to a new segment when the active one is full,
 * syncing it under the `interval` and `none` policies, and taking whole
 * segments off the head for retention.
 *
 * It knows nothing of dedup, the tail cache or who appended: the stream log
 * runs the group commit and has it write and commit one chunk at a time.
 */
import { formChunk, type PendingAppend } from './commit-chunk.js';
import { writeIndex } from './recovery.js';
import { type ChunkEntry, Segment } from './segment.js';
import type { ResolvedStreamLogOptions } from './stream-log-options.js';

/** A chunk that {@link SegmentChain.writeChunk} wrote: the appends `batch[from..to)`, from `firstSequence` on. */
export interface WrittenChunk {
  /** The segment written to (the active one). */
  segment: Segment;
  from: number;
  to: number;
  firstSequence: number;
  /** The time stored in every record of the chunk. */
  time: number;
  /** The bytes written, frames of every record. */
  chunk: Buffer;
  entries: readonly ChunkEntry[];
}

/** See the module comment. */
export class SegmentChain {
  readonly #o: ResolvedStreamLogOptions;
  readonly #segments: Segment[];
  #nextSequence: number;
  #lastTime: number;
  #unsynced = false;

  /** Takes over `segments` as recovery left them: at least one, the last being the active one. */
  constructor(options: ResolvedStreamLogOptions, segments: Segment[]) {
    this.#o = options;
    this.#segments = segments;
    const active = segments[segments.length - 1]!;
    this.#nextSequence = active.count > 0 ? active.lastSequence + 1 : active.base;
    this.#lastTime = Math.max(0, ...segments.map((s) => s.lastTime));
  }

  /** The segments, oldest first; the last is the active one. Only this class changes the list. */
  get segments(): readonly Segment[] {
    return this.#segments;
  }

  /** The segment that writes go to. */
  get active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  /** The sequence the next record stored gets. */
  get nextSequence(): number {
    return this.#nextSequence;
  }

  /** The first sequence held (equals {@link SegmentChain.nextSequence} when empty). */
  get firstSequence(): number {
    return this.#segments.find((s) => s.count > 0)?.base ?? this.#nextSequence;
  }

  /** Committed records and segment file bytes, over every segment. */
  totals(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const s of this.#segments) {
      messages += s.count;
      bytes += s.size;
    }
    return { messages, bytes };
  }

  /**
   * Writes the appends of `batch` from `from` on that fit the active segment
   * as one chunk, rolling first when it is full. A rejection means nothing of
   * the chunk is stored; once written, it counts only after
   * {@link SegmentChain.commit}.
   */
  async writeChunk(batch: readonly PendingAppend[], from: number): Promise<WrittenChunk> {
    const { maxSegmentBytes, maxSegmentMessages } = this.#o;
    let segment = this.active;
    const first = batch[from]!;
    if (
      segment.count > 0 &&
      (segment.size + first.size > maxSegmentBytes || segment.count >= maxSegmentMessages)
    ) {
      segment = await this.roll();
    }
    const time = Math.max(this.#o.now(), this.#lastTime);
    const firstSequence = this.#nextSequence;
    const { end, chunk, entries } = formChunk({
      batch,
      from,
      segment,
      firstSequence,
      time,
      maxSegmentBytes,
      maxSegmentMessages,
    });
    await segment.writeChunk(chunk, this.#o.sync.mode === 'sync');
    return { segment, from, to: end, firstSequence, time, chunk, entries };
  }

  /**
   * Makes a written chunk part of the log: its segment counts it and the next
   * sequence moves past it. Synchronous, so the caller can settle the appends
   * in the same turn, before anything else sees the log.
   */
  commit(written: WrittenChunk): void {
    written.segment.commitChunk(written.entries, written.chunk.length);
    this.#nextSequence += written.to - written.from;
    this.#lastTime = written.time;
    this.#unsynced = true;
  }

  /** Seals the active segment and starts a new one named by the next sequence. */
  async roll(): Promise<Segment> {
    const { fileLayer: layer, dir, indexIntervalBytes, log } = this.#o;
    const old = this.active;
    if (this.#o.sync.mode !== 'sync') await old.file.datasync();
    const segment = await Segment.create({ layer, dir, base: this.#nextSequence, indexIntervalBytes });
    try {
      // The new file's directory entry must be durable before any record in it is acknowledged.
      await layer.syncDir(dir);
    } catch (error) {
      await segment.retire().catch(() => undefined);
      await layer.unlink(segment.path).catch(() => undefined);
      throw error;
    }
    this.#segments.push(segment);
    await writeIndex(layer, old, log);
    return segment;
  }

  /**
   * Takes the `count` oldest segments out of {@link SegmentChain.segments}
   * at once, so reads stop finding them; their files stay until
   * {@link SegmentChain.deleteFiles}.
   */
  detachHead(count: number): Segment[] {
    return this.#segments.splice(0, count);
  }

  /** Deletes the files of segments {@link SegmentChain.detachHead} took out, and closes them. */
  async deleteFiles(segments: readonly Segment[]): Promise<void> {
    for (const segment of segments) {
      await this.#o.fileLayer.unlink(segment.indexPath);
      await this.#o.fileLayer.unlink(segment.path);
      await segment.retire();
    }
  }

  /** Syncs the active segment if anything was written since the last sync; a failure is logged, not thrown. */
  async syncActive(): Promise<void> {
    if (!this.#unsynced) return;
    this.#unsynced = false;
    try {
      await this.active.file.datasync();
    } catch (error) {
      this.#unsynced = true;
      this.#o.log.error?.(
        { stream: this.#o.name, error },
        `periodic fdatasync of stream ${this.#o.name} failed; records acknowledged since the last sync may be lost ` +
          'on power loss; check the disk',
      );
    }
  }

  /** Syncs what the sync policy left unsynced and closes every segment file. */
  async close(): Promise<void> {
    if (this.#o.sync.mode !== 'sync') await this.syncActive();
    for (const s of this.#segments) await s.retire();
  }
}
