/**
 * The broker's dead letters: a log of entries (each with its group, pattern,
 * error and attempts) and a stored set of those replayed or purged. Listing
 * scans the log; dead letters are few, and a scan keeps the format simple.
 */
import { join } from 'node:path';
import type { DeadLetter } from '@courier/core';
import { GroupStore } from '../storage/group-store.js';
import type { StorageLogger } from '../storage/storage-logger.js';
import { StreamLog } from '../storage/stream-log.js';
import type { SyncPolicy } from '../storage/sync-policy.js';
import { decodeDeadLetter, encodeDeadLetter } from './records.js';

const REMOVED = 'removed';

/** A dead letter with its place in the log. */
export interface StoredDeadLetter {
  sequence: number;
  entry: DeadLetter;
}

/** See the module comment. Open with {@link DeadLetterLog.open}. */
export class DeadLetterLog {
  readonly #log: StreamLog;
  readonly #removed: GroupStore;

  private constructor(log: StreamLog, removed: GroupStore) {
    this.#log = log;
    this.#removed = removed;
  }

  static async open(options: { dir: string; sync: SyncPolicy; log?: StorageLogger }): Promise<DeadLetterLog> {
    const common = { sync: options.sync, ...(options.log ? { log: options.log } : {}) };
    const log = await StreamLog.open({ dir: join(options.dir, 'log'), name: 'dead-letters', ...common });
    const removed = await GroupStore.open({ dir: join(options.dir, 'state'), ...common });
    if (!removed.get(REMOVED)) await removed.create(REMOVED, { ackFloor: log.info().firstSequence - 1 });
    return new DeadLetterLog(log, removed);
  }

  /** Stores a dead letter; resolves once it is durable. */
  async add(entry: DeadLetter): Promise<void> {
    await this.#log.append({ payload: encodeDeadLetter(entry) });
  }

  /** A group's dead letters still held, oldest first. */
  async list(group: string, limit = Number.POSITIVE_INFINITY): Promise<DeadLetter[]> {
    return (await this.#scan(group, undefined, limit)).map((s) => s.entry);
  }

  /** A group's dead letters (all, or those with `ids`), with their places for `remove`. */
  find(group: string, ids: readonly string[] | undefined): Promise<StoredDeadLetter[]> {
    return this.#scan(group, ids === undefined ? undefined : new Set(ids), Number.POSITIVE_INFINITY);
  }

  /** Removes dead letters found by `find`; resolves once that is durable. */
  async remove(found: readonly StoredDeadLetter[]): Promise<void> {
    if (found.length > 0)
      await this.#removed.ack(
        REMOVED,
        found.map((s) => s.sequence),
      );
  }

  async close(): Promise<void> {
    await this.#log.close();
    await this.#removed.close();
  }

  async #scan(
    group: string,
    ids: ReadonlySet<string> | undefined,
    limit: number,
  ): Promise<StoredDeadLetter[]> {
    const removed = this.#removed.get(REMOVED);
    const found: StoredDeadLetter[] = [];
    let from = this.#log.info().firstSequence;
    const last = this.#log.info().lastSequence;
    while (from <= last && found.length < limit) {
      const records = await this.#log.readRange({ from, maxRecords: 256 });
      if (records.length === 0) break;
      for (const record of records) {
        from = record.sequence + 1;
        if (removed?.isAcked(record.sequence)) continue;
        const entry = decodeDeadLetter(record.payload);
        if (entry.group !== group || (ids && !ids.has(entry.message.id))) continue;
        found.push({ sequence: record.sequence, entry });
        if (found.length >= limit) break;
      }
    }
    return found;
  }
}
