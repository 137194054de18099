/**
 * One subscription of the broker engine on one stream: a cursor over the
 * stream's log feeding the shared group dispatcher, with its state (ack
 * floor, acks above it, delivery counts) in the stream's group store for
 * durable groups.
 *
 * Read-ahead is bounded by messages and bytes, and counts only messages the
 * group can hand out now. A message waiting for its delivery time, or behind
 * an earlier message of its key, is "parked": the group keeps its sequence
 * (a few bytes), not the message, and reads it from the log again when it is
 * due or its key is free. So 1,024 delayed messages cannot stall a group,
 * and a large backlog costs disk reads, not memory.
 */
import type { DeadLetter, RawMessage } from '@courier/core';
import { subjectMatcher } from '@courier/core';
import { type DispatcherOptions, GroupDispatcher } from '@courier/core/internal';
import type { GroupStore } from '../storage/group-store.js';
import type { StoredRecord } from '../storage/segment-reads.js';
import type { StreamLog } from '../storage/stream-log.js';
import { DelayQueue } from './delay-queue.js';
import { type EngineObserver, GroupTracker } from './engine-observer.js';
import { ParkedSet } from './parked-set.js';
import { decodeMessage } from './records.js';
import { undecodableDeadLetter } from './undecodable.js';

/** The header that sends a replayed dead letter to one group only. */
export const REPLAY_HEADER = 'courier-replay-to';

/** Messages a group holds in memory at most, ready or in flight. */
export const READ_AHEAD_MESSAGES = 1024;
/** Payload bytes a group holds in memory at most, ready or in flight (one larger message always fits). */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** Sequences a group parks at most (delayed or behind their key) before it stops reading ahead. */
export const MAX_PARKED = 262_144;

/** How a durable group is opened. */
export interface DurableGroupOptions extends DispatcherOptions {
  /** The group's identity in the store and in replay headers. */
  readonly key: string;
  /** The group's state lives in `store`; without one (a private subscription) it lives in memory. */
  readonly store: GroupStore | undefined;
  /** Where a new group starts: the sequence after which it delivers. */
  readonly startAfter: number;
  readonly log: StreamLog;
  readonly deadLetter: (entry: DeadLetter) => Promise<void>;
  readonly onError: (error: unknown) => void;
  /** Acknowledgements moved (retention may release segments). */
  readonly onAcked?: () => void;
  /** Told of deliveries, acks and dead letters (the broker's metrics). */
  readonly observer?: EngineObserver;
}

/** See the module comment. Create with {@link DurableGroup.open}. */
export class DurableGroup {
  readonly options: DurableGroupOptions;
  readonly dispatcher: GroupDispatcher;
  readonly #matches: (subject: string) => boolean;
  /** Sequences in the dispatcher, with their payload bytes. */
  readonly #held = new Map<number, number>();
  #heldBytes = 0;
  readonly #parked = new ParkedSet();
  readonly #delays: DelayQueue;
  /** The sequence that holds each key now (in the dispatcher, or being read back), and what waits behind it. */
  readonly #keyOwner = new Map<string, number>();
  readonly #keyQueue = new Map<string, number[]>();
  readonly #keyOf = new Map<number, string>();
  readonly #tracker: GroupTracker | undefined;
  readonly #unlisten: () => void;
  #cursor: number;
  #reading = false;
  #again = false;
  #floorScheduled = false;
  #disposed = false;

  private constructor(options: DurableGroupOptions, cursor: number) {
    this.options = options;
    this.#cursor = cursor;
    this.#matches = subjectMatcher(options.pattern);
    this.#delays = new DelayQueue((seqs) => {
      for (const seq of seqs) void this.#readBack(seq);
    });
    const { store, key, log } = options;
    const tracker = options.observer
      ? new GroupTracker(options.observer, {
          group: options.name,
          pattern: options.pattern,
          stream: log.options.name,
          durable: store !== undefined,
          unread: () => log.lastSequence - this.#cursor + 1,
        })
      : undefined;
    this.#tracker = tracker;
    this.dispatcher = new GroupDispatcher(options, {
      priorAttempts: (seq) => store?.get(key)?.deliveryCount(seq) ?? 0,
      delivered: (seq, attempt) => {
        tracker?.delivered(seq, attempt);
        if (store && seq >= 0) store.countDelivery(key, seq, options.onError);
      },
      acked: async (seq) => {
        await store?.ack(key, seq);
        options.onAcked?.();
      },
      deadLettered: (entry) => {
        tracker?.deadLettered(entry);
        return options.deadLetter(entry);
      },
      finished: (seq) => {
        tracker?.acked(seq);
        this.#finished(seq);
      },
    });
    // New records: read once per group commit, however many records it stored.
    this.#unlisten = log.onCommit(() => this.pump());
  }

  /** Opens the group, creating its stored state on first use. */
  static async open(options: DurableGroupOptions): Promise<DurableGroup> {
    const { store, key } = options;
    if (store && !store.get(key)) await store.create(key, { ackFloor: options.startAfter });
    const floor = store?.get(key)?.ackFloor ?? options.startAfter;
    return new DurableGroup(options, floor + 1);
  }

  /**
   * The other cursors of the same group on other streams (a pattern that
   * spans streams): they share the members' credit, so when a message here
   * leaves the group they get the chance to hand out what waits for it.
   */
  siblings: readonly DurableGroup[] = [];

  /** Messages read and not yet acked or dead-lettered: held in memory, or parked. */
  get outstanding(): number {
    return this.dispatcher.outstanding + this.#parked.size;
  }

  /** Reads what the group has room for and hands out what members have credit for. */
  pump(): void {
    this.dispatcher.dispatch();
    if (this.#reading) {
      this.#again = true;
      return;
    }
    if (this.#room() && this.#cursor <= this.options.log.lastSequence) {
      void this.#read();
      return;
    }
    // Nothing to read: only the floor may move (acks), once per turn however many came.
    if (this.#floorScheduled || this.#disposed) return;
    this.#floorScheduled = true;
    setImmediate(() => {
      this.#floorScheduled = false;
      if (!this.#disposed) this.#advanceFloor();
    });
  }

  /** Drops every timer; the group is gone from this process (its stored state stays). */
  dispose(): void {
    // The floor move scheduled after the last acks may not have run: store it now, before the store closes,
    // or a group that never comes back would hold work-queue and interest retention at its old floor.
    if (!this.#disposed) this.#advanceFloor();
    this.#disposed = true;
    this.#unlisten();
    this.#delays.clear();
    this.dispatcher.dispose();
    this.#tracker?.close();
  }

  #room(): boolean {
    return (
      this.#held.size < READ_AHEAD_MESSAGES &&
      this.#heldBytes < READ_AHEAD_BYTES &&
      this.#parked.size < MAX_PARKED
    );
  }

  async #read(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        await this.#readBatch();
      } while (this.#again && !this.#disposed);
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.#reading = false;
    }
    this.#advanceFloor();
    this.dispatcher.dispatch();
  }

  async #readBatch(): Promise<void> {
    const { log, store, key } = this.options;
    while (!this.#disposed && this.#room() && this.#cursor <= log.lastSequence) {
      // No more than there is room for (and a few, for records this group skips), so the log is not read twice.
      const room = Math.max(16, READ_AHEAD_MESSAGES - this.#held.size);
      const records = await log.readRange({ from: this.#cursor, maxRecords: Math.min(256, room) });
      if (records.length === 0) return;
      const state = store?.get(key);
      for (const record of records) {
        if (!this.#room()) break;
        this.#cursor = record.sequence + 1;
        if (state?.isAcked(record.sequence)) continue;
        const message = this.#decode(record);
        if (!message) continue;
        const wanted = this.#wanted(message);
        if (!wanted) continue;
        const wait =
          this.options.schedule && wanted.deliverAt !== undefined ? wanted.deliverAt - Date.now() : 0;
        if (wait > 0) {
          this.#parked.add(record.sequence);
          this.#delays.add(record.sequence, wanted.deliverAt as number);
        } else this.#admit(record.sequence, wanted, record.payload.byteLength);
      }
      this.dispatcher.dispatch();
    }
  }

  /** Hands a message to the dispatcher, or parks it behind an earlier message of its key. */
  #admit(seq: number, message: RawMessage, bytes: number): void {
    const key = this.options.orderKeys ? message.key : undefined;
    if (key !== undefined) {
      const owner = this.#keyOwner.get(key);
      if (owner !== undefined && owner !== seq) {
        this.#parked.add(seq);
        const queue = this.#keyQueue.get(key);
        if (queue) queue.push(seq);
        else this.#keyQueue.set(key, [seq]);
        return;
      }
      this.#keyOwner.set(key, seq);
      this.#keyOf.set(seq, key);
    }
    this.#parked.delete(seq);
    this.#held.set(seq, bytes);
    this.#heldBytes += bytes;
    this.#tracker?.taken(seq, message);
    this.dispatcher.add(seq, message);
  }

  /** A parked message is due (its time came or its key is free): read it again and admit it. */
  async #readBack(seq: number): Promise<void> {
    try {
      const record = await this.options.log.read(seq);
      if (this.#disposed) return;
      const message = record && this.#decode(record);
      const wanted = message && this.#wanted(message);
      if (record && wanted) this.#admit(seq, wanted, record.payload.byteLength);
      else {
        // Dropped by retention meanwhile (or not for us after all): nothing to deliver.
        this.#parked.delete(seq);
        this.#releaseKey(seq);
      }
    } catch (error) {
      this.options.onError(error);
    }
    this.pump();
  }

  #finished(seq: number): void {
    const bytes = this.#held.get(seq);
    if (bytes !== undefined) {
      this.#held.delete(seq);
      this.#heldBytes -= bytes;
    }
    this.#releaseKey(seq);
    this.pump();
    for (const sibling of this.siblings) if (sibling !== this) sibling.dispatcher.dispatch();
  }

  /** `seq` no longer holds its key: the next message of the key is read back. */
  #releaseKey(seq: number): void {
    const key = this.#keyOf.get(seq);
    if (key === undefined) return;
    this.#keyOf.delete(seq);
    if (this.#keyOwner.get(key) === seq) this.#passKey(key);
  }

  #passKey(key: string): void {
    const queue = this.#keyQueue.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.#keyQueue.delete(key);
    if (next === undefined) {
      this.#keyOwner.delete(key);
      return;
    }
    this.#keyOwner.set(key, next);
    this.#keyOf.set(next, key);
    void this.#readBack(next);
  }

  /** The record's message; an undecodable record is dead-lettered with the reason (and acked once stored). */
  #decode(record: StoredRecord): RawMessage | undefined {
    try {
      return decodeMessage(record.payload);
    } catch (error) {
      const seq = record.sequence;
      if (this.#parked.has(seq)) return undefined; // already being dead-lettered
      this.#parked.add(seq);
      const { store, key, log } = this.options;
      const entry = undecodableDeadLetter({ record, stream: log.options.name, group: this.options, error });
      this.options
        .deadLetter(entry)
        .then(() => store?.ack(key, seq))
        .then(
          () => {
            this.#parked.delete(seq);
            this.#advanceFloor();
          },
          // Not stored: it stays parked (holding the floor), to be dead-lettered again after a restart.
          this.options.onError,
        );
      return undefined;
    }
  }

  /** The message if this group should deliver it: its subject matches, and a replay is addressed here. */
  #wanted(message: RawMessage): RawMessage | undefined {
    if (!this.#matches(message.subject)) return undefined;
    const target = message.headers[REPLAY_HEADER];
    if (target === undefined) return message;
    if (target !== this.options.key) return undefined;
    const { [REPLAY_HEADER]: _, ...headers } = message.headers;
    return { ...message, headers };
  }

  /** Moves the stored ack floor up to just below the oldest message still owed (skipped ones count as done). */
  #advanceFloor(): void {
    const { store, key } = this.options;
    const state = store?.get(key);
    if (!store || !state) return;
    const owed = Math.min(
      this.dispatcher.lowestOutstanding ?? this.#cursor,
      this.#parked.lowest ?? this.#cursor,
      this.#cursor,
    );
    if (owed - 1 > state.ackFloor)
      store.ackThrough(key, owed - 1).then(() => this.options.onAcked?.(), this.options.onError);
  }
}
