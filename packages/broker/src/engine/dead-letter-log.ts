/**
 * The broker's dead letters: a log of entries (each with its group, pattern,
 * error and attempts) and a stored set of those replayed or purged. Listing
 * scans the log; dead letters are few, and a scan keeps the format simple.
 * How many each group holds is kept in memory (counted once on open), so
 * counts never scan. A record that does not decode (damaged, or written by
 * another version) is skipped by every scan and reported once; it is kept.
 *
 * Removals and compactions run one at a time for the whole log, whatever
 * the group: two compactions at once would copy the same entries twice.
 *
 * The removed set stays small: removing the oldest entries moves its floor,
 * and whole segments below the floor are dropped. When entries are removed
 * out of order and the set passes {@link COMPACT_AFTER}, the entries still
 * held below the newest removed one are copied to the log's end and marked
 * removed at their old places, so the floor passes them all. A crash between
 * the copy and the mark lists such an entry twice; it never loses one.
 */
import { join } from 'node:path';
import type { DeadLetter } from '@courier/core';
import { GroupStore } from '../storage/group-store.js';
import type { StorageLogger } from '../storage/storage-logger.js';
import { StreamLog, type StreamLogInfo } from '../storage/stream-log.js';
import type { SyncPolicy } from '../storage/sync-policy.js';
import { decodeDeadLetter, encodeDeadLetter } from './records.js';

const REMOVED = 'removed';

/** Removed entries above the floor that trigger a compaction. */
export const COMPACT_AFTER = 1024;

/** A dead letter with its place in the log. */
export interface StoredDeadLetter {
  sequence: number;
  entry: DeadLetter;
}

/** See the module comment. Open with {@link DeadLetterLog.open}. */
export class DeadLetterLog {
  readonly #log: StreamLog;
  readonly #removed: GroupStore;
  readonly #logger: StorageLogger | undefined;
  /** Entries held per group (a group with none is absent). */
  readonly #counts = new Map<string, number>();
  /** The removal and compaction running now; the next waits for it. */
  #turn: Promise<unknown> = Promise.resolve();
  #reportedUndecodable = false;

  private constructor(log: StreamLog, removed: GroupStore, logger: StorageLogger | undefined) {
    this.#log = log;
    this.#removed = removed;
    this.#logger = logger;
  }

  static async open(options: { dir: string; sync: SyncPolicy; log?: StorageLogger }): Promise<DeadLetterLog> {
    const common = { sync: options.sync, ...(options.log ? { log: options.log } : {}) };
    const log = await StreamLog.open({
      dir: join(options.dir, 'log'),
      name: 'dead-letters',
      // Small segments, so that removing dead letters frees disk soon.
      maxSegmentBytes: 4 * 1024 * 1024,
      ...common,
    });
    const removed = await GroupStore.open({ dir: join(options.dir, 'state'), ...common });
    if (!removed.get(REMOVED)) await removed.create(REMOVED, { ackFloor: log.info().firstSequence - 1 });
    const dead = new DeadLetterLog(log, removed, options.log);
    for (const { entry } of await dead.#scan(() => true)) dead.#count(entry.group, 1);
    return dead;
  }

  /** Stores a dead letter; resolves once it is durable. */
  async add(entry: DeadLetter): Promise<void> {
    await this.#log.append({ payload: encodeDeadLetter(entry) });
    this.#count(entry.group, 1);
  }

  /** A group's dead letters still held, oldest first. */
  async list(group: string, limit = Number.POSITIVE_INFINITY): Promise<DeadLetter[]> {
    if (!this.#counts.has(group)) return [];
    return oldestFirst(await this.#scan((entry) => entry.group === group), limit);
  }

  /** Every group's dead letters still held, oldest first, in one scan of the log. */
  async listAll(limit = Number.POSITIVE_INFINITY): Promise<DeadLetter[]> {
    if (this.#counts.size === 0) return [];
    return oldestFirst(await this.#scan(() => true), limit);
  }

  /** How many dead letters each group holds (groups holding none are left out); no scan. */
  counts(): ReadonlyMap<string, number> {
    return new Map(this.#counts);
  }

  /** What the removed set holds above its floor (its size is bounded by compaction). */
  removedAboveFloor(): number {
    return this.#removed.get(REMOVED)?.ackedAboveFloor().length ?? 0;
  }

  /** What the dead-letter log holds on disk. */
  info(): StreamLogInfo {
    return this.#log.info();
  }

  /** A group's dead letters (all, or those with `ids`), with their places for `remove`. */
  async find(group: string, ids: readonly string[] | undefined): Promise<StoredDeadLetter[]> {
    if (!this.#counts.has(group)) return [];
    const wanted = ids === undefined ? undefined : new Set(ids);
    return this.#scan((entry) => entry.group === group && (!wanted || wanted.has(entry.message.id)));
  }

  /**
   * Removes dead letters found by `find` (those removed meanwhile are skipped); resolves once that
   * is durable. Removals of every group run one at a time.
   */
  remove(found: readonly StoredDeadLetter[]): Promise<void> {
    const run = this.#turn.then(() => this.#removeNow(found));
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #removeNow(found: readonly StoredDeadLetter[]): Promise<void> {
    const state = this.#removed.get(REMOVED);
    const fresh = found.filter((s) => !state?.isAcked(s.sequence));
    if (fresh.length === 0) return;
    await this.#removed.ack(
      REMOVED,
      fresh.map((s) => s.sequence),
    );
    for (const { entry } of fresh) this.#count(entry.group, -1);
    if (this.removedAboveFloor() > COMPACT_AFTER) await this.#compact();
    const after = this.#removed.get(REMOVED);
    if (after) await this.#log.releaseBelow(after.ackFloor + 1);
  }

  #count(group: string, delta: number): void {
    const n = (this.#counts.get(group) ?? 0) + delta;
    if (n > 0) this.#counts.set(group, n);
    else this.#counts.delete(group);
  }

  /** Copies the entries still held below the newest removed one to the end, then marks their old places removed. */
  async #compact(): Promise<void> {
    const removed = this.#removed.get(REMOVED);
    const above = removed?.ackedAboveFloor() ?? [];
    const newest = above[above.length - 1];
    if (!removed || newest === undefined) return;
    const moved: number[] = [];
    let from = removed.ackFloor + 1;
    while (from < newest) {
      const records = await this.#log.readRange({ from, maxRecords: 256 });
      if (records.length === 0) break;
      const copies: Promise<unknown>[] = [];
      for (const record of records) {
        from = record.sequence + 1;
        if (record.sequence >= newest) break;
        if (removed.isAcked(record.sequence)) continue;
        // Appended in one turn: one write and one sync for the batch.
        copies.push(this.#log.append({ payload: record.payload }));
        moved.push(record.sequence);
      }
      await Promise.all(copies);
    }
    if (moved.length > 0) await this.#removed.ack(REMOVED, moved);
  }

  async close(): Promise<void> {
    await this.#turn;
    await this.#log.close();
    await this.#removed.close();
  }

  /** The held entries that `wanted` accepts, in log order; undecodable records are skipped (reported once). */
  async #scan(wanted: (entry: DeadLetter) => boolean): Promise<StoredDeadLetter[]> {
    const removed = this.#removed.get(REMOVED);
    const found: StoredDeadLetter[] = [];
    let from = this.#log.info().firstSequence;
    const last = this.#log.info().lastSequence;
    while (from <= last) {
      const records = await this.#log.readRange({ from, maxRecords: 256 });
      if (records.length === 0) break;
      for (const record of records) {
        from = record.sequence + 1;
        if (removed?.isAcked(record.sequence)) continue;
        let entry: DeadLetter;
        try {
          entry = decodeDeadLetter(record.payload);
        } catch (error) {
          this.#reportUndecodable(record.sequence, error);
          continue;
        }
        if (wanted(entry)) found.push({ sequence: record.sequence, entry });
      }
    }
    return found;
  }

  #reportUndecodable(sequence: number, error: unknown): void {
    if (this.#reportedUndecodable) return;
    this.#reportedUndecodable = true;
    const reason = error instanceof Error ? error.message : String(error);
    const message = `dead-letter record ${sequence} does not decode (${reason}); it was written by another version or damaged, and is left out of every list (reported once)`;
    if (this.#logger?.warn) this.#logger.warn({ sequence, reason }, message);
    else console.warn('[courier broker]', message);
  }
}

/** Compaction moves old entries to the end: order by the time they were dead-lettered. */
function oldestFirst(found: readonly StoredDeadLetter[], limit: number): DeadLetter[] {
  return found
    .map((s) => s.entry)
    .sort((a, b) => a.time - b.time)
    .slice(0, limit);
}
