/**
 * One subscription of the broker engine: a cursor over the stream's log
 * feeding the shared group dispatcher, with its state (ack floor, acks above
 * it, delivery counts) in the group store for durable groups. A message is
 * read from disk only when the group has room for it (read-ahead is bounded),
 * so a large backlog costs disk reads, not memory.
 */
import { type DeadLetter, type RawMessage, subjectMatcher } from '@courier/core';
import { type DispatcherOptions, GroupDispatcher } from '@courier/core/internal';
import type { GroupStore } from '../storage/group-store.js';
import type { StreamLog } from '../storage/stream-log.js';
import { decodeMessage } from './records.js';

/** The header that sends a replayed dead letter to one group only. */
export const REPLAY_HEADER = 'courier-replay-to';

/** Messages a group holds in memory at most (ready, in flight, waiting). */
const READ_AHEAD = 1024;

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
}

/** See the module comment. Create with {@link DurableGroup.open}. */
export class DurableGroup {
  readonly options: DurableGroupOptions;
  readonly dispatcher: GroupDispatcher;
  readonly #matches: (subject: string) => boolean;
  #cursor: number;
  #reading = false;
  #again = false;
  #disposed = false;

  private constructor(options: DurableGroupOptions, cursor: number) {
    this.options = options;
    this.#cursor = cursor;
    this.#matches = subjectMatcher(options.pattern);
    const { store, key } = options;
    this.dispatcher = new GroupDispatcher(options, {
      priorAttempts: (seq) => store?.get(key)?.deliveryCount(seq) ?? 0,
      delivered: (seq) => {
        if (store && seq >= 0) store.delivered(key, seq).catch(options.onError);
      },
      acked: (seq) => store?.ack(key, seq),
      deadLettered: options.deadLetter,
      finished: () => this.pump(),
    });
  }

  /** Opens the group, creating its stored state on first use. */
  static async open(options: DurableGroupOptions): Promise<DurableGroup> {
    const { store, key } = options;
    if (store && !store.get(key)) await store.create(key, { ackFloor: options.startAfter });
    const floor = store?.get(key)?.ackFloor ?? options.startAfter;
    return new DurableGroup(options, floor + 1);
  }

  /** Reads what the group has room for and hands out what members have credit for. */
  pump(): void {
    this.dispatcher.dispatch();
    void this.#read();
  }

  /** Drops every timer; the group is gone from this process (its stored state stays). */
  dispose(): void {
    this.#disposed = true;
    this.dispatcher.dispose();
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
    while (
      !this.#disposed &&
      this.dispatcher.outstanding < READ_AHEAD &&
      this.#cursor <= log.info().lastSequence
    ) {
      const records = await log.readRange({ from: this.#cursor, maxRecords: 256 });
      if (records.length === 0) return;
      const state = store?.get(key);
      for (const record of records) {
        this.#cursor = record.sequence + 1;
        if (state?.isAcked(record.sequence)) continue;
        const message = this.#wanted(decodeMessage(record.payload));
        if (message) this.dispatcher.add(record.sequence, message);
      }
      this.dispatcher.dispatch();
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
    const floor = (this.dispatcher.lowestOutstanding ?? this.#cursor) - 1;
    if (floor > state.ackFloor) store.ackThrough(key, floor).catch(this.options.onError);
  }
}
