/**
 * The durable log of one stream: a directory of segments with group commit,
 * sync policies, dedup, retention and crash recovery (DESIGN.md section 5).
 *
 * Group commit: appends wait in memory until the end of the event-loop turn;
 * then one write and (with `sync`) one `fdatasync` store all of them and
 * their promises resolve together. While a commit is in flight, new appends
 * gather for the next one, so the batch grows with the load. Sequences are
 * assigned at commit, so a failed commit leaves no hole.
 *
 * The segment files themselves (writing chunks, rolling, syncing, deleting)
 * are kept by a {@link SegmentChain}; this class decides what goes in them.
 */
import { CourierError } from '@courier/core';
import { type AppendCallback, type AppendInput, type AppendResult, checkAppend } from './append-input.js';
import type { PendingAppend as Pending } from './commit-chunk.js';
import { DedupWindow, rebuildDedup } from './dedup-window.js';
import { RECORD_HEADER_BYTES } from './record-codec.js';
import { type RecoveryReport, recoverSegments } from './recovery.js';
import { planRetention, type RetentionOutcome, refuseNew } from './retention.js';
import type { Segment } from './segment.js';
import { SegmentChain, type WrittenChunk } from './segment-chain.js';
import {
  findSequenceAtTime,
  type ReadRangeOptions,
  readOne,
  readRange,
  type StoredRecord,
} from './segment-reads.js';
import { Serial, settle } from './serial.js';
import { closedError, storageError } from './storage-errors.js';
import {
  type ResolvedStreamLogOptions,
  resolveStreamLogOptions,
  type StreamLogOptions,
} from './stream-log-options.js';
import { TailCache } from './tail-cache.js';

/** What a stream log holds now. */
export interface StreamLogInfo {
  /** The first sequence held (equals `lastSequence + 1` when empty). */
  firstSequence: number;
  /** The last sequence stored (`firstSequence - 1` when empty). */
  lastSequence: number;
  /** Records held. */
  messages: number;
  /** Bytes of segment files. */
  bytes: number;
  /** Segment files. */
  segments: number;
  /** Ids in the dedup window. */
  dedupEntries: number;
}

export type { AppendCallback, AppendInput, AppendResult };

/** See the module comment. Open with {@link StreamLog.open}. */
export class StreamLog {
  /** What recovery found and did when this log was opened. */
  readonly recovery: RecoveryReport;
  readonly #o: ResolvedStreamLogOptions;
  /** The segment files: every write, roll and drop goes through it. */
  readonly #chain: SegmentChain;
  readonly #dedup: DedupWindow;
  #pending: Pending[] = [];
  #pendingBytes = 0;
  /** Appends waiting for their commit, by id: a second append of the same id follows the first. */
  readonly #pendingIds = new Map<string, Pending>();
  #scheduled = false;
  readonly #serial = new Serial();
  #lowestNeeded: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #commitListeners = new Set<(firstSequence: number, lastSequence: number) => void>();
  readonly #tail = new TailCache();

  private constructor(options: ResolvedStreamLogOptions, segments: Segment[], recovery: RecoveryReport) {
    this.#o = options;
    this.#chain = new SegmentChain(options, segments);
    this.recovery = recovery;
    this.#dedup = new DedupWindow(options.dedupWindowMs);
    const sync = options.sync;
    if (sync.mode === 'interval') {
      this.#timer = setInterval(() => void this.#serial.run(() => this.#chain.syncActive()), sync.intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Opens (or creates) the stream in `options.dir`, recovering from whatever
   * a crash left: see {@link RecoveryReport} for what is repaired.
   */
  static async open(options: StreamLogOptions): Promise<StreamLog> {
    const o = resolveStreamLogOptions(options);
    const { segments, report } = await recoverSegments({
      layer: o.fileLayer,
      dir: o.dir,
      indexIntervalBytes: o.indexIntervalBytes,
      firstSequence: o.firstSequence,
      log: o.log,
    });
    const log = new StreamLog(o, segments, report);
    await rebuildDedup(log.#dedup, segments, o.now());
    report.dedupEntries = log.#dedup.size;
    o.log.info?.({ stream: o.name, ...report }, `opened stream log ${o.name}`);
    return log;
  }

  /** The options in force, defaults applied. */
  get options(): Readonly<ResolvedStreamLogOptions> {
    return this.#o;
  }

  /**
   * Appends a record. Resolves once it is stored as the sync policy promises
   * (with `sync`: on disk), or with the earlier sequence when `id` was stored
   * within the dedup window. Rejects with `STORAGE_FULL` / `STORAGE_ERROR`
   * (retryable: the record was not stored), `STREAM_FULL` (a limit with
   * `discard: 'new'`) or `PAYLOAD_TOO_LARGE`.
   */
  append(input: AppendInput): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.appendWith(input, (error, sequence, duplicate) => {
        if (error === undefined) resolve({ sequence, duplicate });
        else reject(error);
      });
    });
  }

  /**
   * {@link StreamLog.append} with a callback instead of a promise: `done` is
   * called exactly once, possibly before this returns (a duplicate or a refusal).
   */
  appendWith(input: AppendInput, done: AppendCallback): void {
    if (this.#closed) {
      done(closedError(`stream log ${this.#o.name}`), 0, false);
      return;
    }
    const id = input.id === undefined || input.id === '' ? undefined : input.id;
    if (id !== undefined) {
      const sequence = this.#dedup.lookup(id, this.#o.now());
      if (sequence !== undefined) {
        done(undefined, sequence, true);
        return;
      }
      const inFlight = this.#pendingIds.get(id);
      if (inFlight) {
        inFlight.followers ??= [];
        inFlight.followers.push(done);
        return;
      }
    }
    const checked = checkAppend(input, id, { maxRecordBytes: this.#o.maxRecordBytes, stream: this.#o.name });
    const refused = checked instanceof CourierError ? checked : this.#refuseNew(checked.size);
    if (refused || checked instanceof CourierError) {
      done(refused, 0, false);
      return;
    }
    const { idBytes, size } = checked;
    const pending: Pending = { id, idBytes, payload: input.payload, size, done, followers: undefined };
    this.#pending.push(pending);
    this.#pendingBytes += size;
    if (id !== undefined) this.#pendingIds.set(id, pending);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#kick);
    }
  }

  readonly #kick = (): void => {
    this.#scheduled = false;
    void this.#serial.run(() => this.#commit());
  };

  /**
   * Calls `listener` after every commit with the sequences it stored (once per
   * group commit, not per record), so readers can catch up in one pass.
   * Returns a function that removes it.
   */
  onCommit(listener: (firstSequence: number, lastSequence: number) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** The record at `sequence`, or `undefined` when the stream does not hold it. Reads go on during write failures. */
  read(sequence: number): Promise<StoredRecord | undefined> {
    const cached = this.#tail.get(sequence);
    return cached ? Promise.resolve(cached) : readOne(this.#chain.segments, sequence);
  }

  /** Records from `options.from` on, in sequence order, within the count and byte limits. */
  readRange(options: ReadRangeOptions): Promise<StoredRecord[]> {
    const cached = this.#tail.range(options.from, options.maxRecords ?? 256, options.maxBytes ?? 1024 * 1024);
    return cached ? Promise.resolve(cached) : readRange(this.#chain.segments, options);
  }

  /** The first sequence stored at or after `time` (ms since the epoch), or `undefined` when all are older. */
  sequenceAtTime(time: number): Promise<number | undefined> {
    return findSequenceAtTime(this.#chain.segments, time);
  }

  /** The sequence stored for message `id` within the dedup window, if any. */
  lookupId(id: string): number | undefined {
    return this.#dedup.lookup(id, this.#o.now());
  }

  /** The last sequence stored (`firstSequence - 1` when empty); cheaper than {@link StreamLog.info}. */
  get lastSequence(): number {
    return this.#chain.nextSequence - 1;
  }

  /** What the log holds now (committed records only). */
  info(): StreamLogInfo {
    const { messages, bytes } = this.#chain.totals();
    return {
      firstSequence: this.#chain.firstSequence,
      lastSequence: this.#chain.nextSequence - 1,
      messages,
      bytes,
      segments: this.#chain.segments.length,
      dedupEntries: this.#dedup.size,
    };
  }

  /**
   * Interest and work-queue retention: the engine says which is the lowest
   * sequence any group still needs, and whole segments below it are dropped.
   * The value only ever rises.
   */
  releaseBelow(sequence: number): Promise<RetentionOutcome> {
    this.#lowestNeeded = Math.max(this.#lowestNeeded ?? 0, sequence);
    return this.applyRetention();
  }

  /** Drops whole segments that age, limits or {@link StreamLog.releaseBelow} release. The engine calls it on a timer for age. */
  applyRetention(): Promise<RetentionOutcome> {
    if (this.#closed) return Promise.resolve({ segments: 0, messages: 0, reasons: [] });
    return this.#serial.run(() => this.#retain());
  }

  /** Resolves once every append made before the call has settled. */
  async flush(): Promise<void> {
    await settle(this.#serial, () => this.#pending.length > 0 || this.#scheduled);
  }

  /** Settles pending appends, syncs, and closes every file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#serial.run(() => this.#chain.close());
  }

  /** Same as {@link StreamLog.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #refuseNew(size: number): CourierError | undefined {
    // Only `discard: 'new'` refuses appends; skip counting the segments on every append otherwise.
    if (this.#o.limits.discard !== 'new') return undefined;
    const info = this.info();
    return refuseNew({
      limits: this.#o.limits,
      stream: this.#o.name,
      messages: info.messages,
      bytes: info.bytes,
      pendingMessages: this.#pending.length + 1,
      pendingBytes: this.#pendingBytes + size,
    });
  }

  async #commit(): Promise<void> {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    let i = 0;
    try {
      while (i < batch.length) {
        const written = await this.#chain.writeChunk(batch, i);
        this.#chain.commit(written);
        this.#dedup.expire(written.time);
        for (let k = i; k < written.to; k++) {
          const p = batch[k]!;
          if (p.id !== undefined) this.#dedup.add(p.id, written.firstSequence + (k - i), written.time);
        }
        i = written.to;
        // Stored: from here on nothing may fail these records, whatever a callback does.
        this.#stored(batch, written);
      }
    } catch (cause) {
      const error = storageError(cause, {
        action: `appending ${batch.length - i} records to stream ${this.#o.name}`,
        path: this.#chain.active.path,
        outcome: 'those records were not stored and every record acknowledged before is intact',
      });
      this.#o.log.error?.({ stream: this.#o.name, error: cause, records: batch.length - i }, error.message);
      for (let k = i; k < batch.length; k++) {
        const p = batch[k]!;
        if (p.id !== undefined) this.#pendingIds.delete(p.id);
        this.#tell(p.done, error, 0, false);
        if (p.followers) for (const f of p.followers) this.#tell(f, error, 0, false);
      }
    }
    await this.#retain().catch((error: unknown) => {
      this.#o.log.warn?.(
        { stream: this.#o.name, error },
        'retention pass failed; it is retried after the next commit',
      );
    });
  }

  /**
   * The appends `batch[from..to)` are stored as `chunk`, from `firstSequence`
   * on: they enter the tail cache (views of the chunk written), their callers
   * are told, then the commit listeners.
   */
  #stored(batch: readonly Pending[], written: WrittenChunk): void {
    const { from, to, firstSequence, time, chunk, entries } = written;
    for (let k = from; k < to; k++) {
      const p = batch[k]!;
      const sequence = firstSequence + (k - from);
      const at = entries[k - from]!.offset + RECORD_HEADER_BYTES + p.idBytes.length;
      this.#tail.add({ sequence, time, id: p.id, payload: chunk.subarray(at, at + p.payload.length) });
    }
    for (let k = from; k < to; k++) {
      const p = batch[k]!;
      const sequence = firstSequence + (k - from);
      if (p.id !== undefined) this.#pendingIds.delete(p.id);
      this.#tell(p.done, undefined, sequence, false);
      if (p.followers) for (const f of p.followers) this.#tell(f, undefined, sequence, true);
    }
    for (const listener of this.#commitListeners) {
      try {
        listener(firstSequence, firstSequence + (to - from) - 1);
      } catch (error) {
        this.#o.log.error?.({ stream: this.#o.name, error }, 'a commit listener threw');
      }
    }
  }

  #tell(done: AppendCallback, error: unknown, sequence: number, duplicate: boolean): void {
    try {
      done(error, sequence, duplicate);
    } catch (thrown) {
      this.#o.log.error?.({ stream: this.#o.name, error: thrown }, 'an append callback threw');
    }
  }

  async #retain(): Promise<RetentionOutcome> {
    const now = this.#o.now();
    const plan = planRetention({
      segments: this.#chain.segments,
      now,
      limits: this.#o.limits,
      lowestNeeded: this.#lowestNeeded,
    });
    const outcome: RetentionOutcome = { segments: 0, messages: 0, reasons: plan.reasons };
    if (plan.drop === 0) return outcome;
    if (plan.rollActive) await this.#chain.roll();
    const dropped = this.#chain.detachHead(plan.drop);
    this.#tail.dropBelow(this.#chain.firstSequence);
    for (const segment of dropped) {
      outcome.segments++;
      outcome.messages += segment.count;
    }
    await this.#chain.deleteFiles(dropped);
    this.#o.log.info?.(
      { stream: this.#o.name, ...outcome, firstSequence: this.info().firstSequence },
      `retention dropped ${outcome.segments} segments (${outcome.messages} messages) of stream ${this.#o.name}`,
    );
    return outcome;
  }
}
