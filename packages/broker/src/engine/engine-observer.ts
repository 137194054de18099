/**
 * What the broker engine tells an observer (the broker's metrics) as messages
 * flow: stored, delivered, redelivered, acked, dead-lettered, and which
 * groups are open with how much they owe. The engine calls these at its
 * existing points; an observer keeps them cheap (counter increments), since
 * `published` runs on the publish path.
 *
 * {@link GroupTracker} turns a group's per-sequence hooks into these
 * callbacks, with ack latency and publish-to-ack time, and counts what the
 * group still owes (lag) and has handed out (outstanding). It holds one small
 * entry per message in the group's read-ahead window, never more.
 */
import type { DeadLetter, RawMessage } from '@courier/core';

/** A group open in this process, as an observer may read it at any time (at scrape time). */
export interface GroupView {
  readonly group: string;
  /** The group's subject pattern. */
  readonly pattern: string;
  /** The stream this part of the group reads (a group whose pattern spans streams has one view per stream). */
  readonly stream: string;
  readonly durable: boolean;
  /**
   * Messages not yet delivered: those read and waiting, plus every record of the stream past the
   * group's read position (beyond the read-ahead window this counts records of other subjects too,
   * so it is an upper bound there).
   */
  pending(): number;
  /** Messages delivered and not yet acked or dead-lettered (a nacked one waiting for its retry counts). */
  outstanding(): number;
}

/** Receives the engine's events. Every callback must be cheap and must not throw. */
export interface EngineObserver {
  /** A message was stored in `stream` (a deduplicated publish is not reported). */
  published(subject: string, bytes: number, stream: string): void;
  /** A group handed a message to a member; `attempt` 1 is the first delivery. */
  delivered(group: string, subject: string, attempt: number): void;
  /** A delivery after the first (a retry, an expired ack deadline, a restart). */
  redelivered(group: string, subject: string, attempt: number): void;
  /** A member acked: `ackLatencyMs` since this delivery, `publishToAckMs` since the message's time. */
  acked(group: string, subject: string, ackLatencyMs: number, publishToAckMs: number): void;
  /** A message left its group as a dead letter. */
  deadLettered(group: string, subject: string): void;
  /** A group opened in this process. */
  groupOpened?(view: GroupView): void;
  /** A group left this process (its stored state stays). */
  groupClosed?(view: GroupView): void;
}

interface Tracked {
  readonly message: RawMessage;
  /** When the current delivery was handed out; 0 before the first. */
  deliveredAt: number;
  /** The dead-letter hook ran for it: its coming ack is the dead letter's, not a member's. */
  dead: boolean;
}

/** Options of {@link GroupTracker}. */
export interface GroupTrackerOptions {
  group: string;
  pattern: string;
  /** The stream the group reads. Default `default`. */
  stream?: string;
  durable: boolean;
  /** Records of the stream past the group's read position. */
  unread: () => number;
}

/** See the module comment. The group calls `taken`, `delivered`, `deadLettered`, `acked` and `close`. */
export class GroupTracker implements GroupView {
  readonly group: string;
  readonly pattern: string;
  readonly stream: string;
  readonly durable: boolean;
  readonly #observer: EngineObserver;
  readonly #unread: () => number;
  readonly #taken = new Map<number, Tracked>();
  #inFlight = 0;

  constructor(observer: EngineObserver, options: GroupTrackerOptions) {
    this.#observer = observer;
    this.group = options.group;
    this.pattern = options.pattern;
    this.stream = options.stream ?? 'default';
    this.durable = options.durable;
    this.#unread = options.unread;
    observer.groupOpened?.(this);
  }

  pending(): number {
    return Math.max(0, this.#unread()) + this.#taken.size - this.#inFlight;
  }

  outstanding(): number {
    return this.#inFlight;
  }

  /** The group read `message` at `seq` and will deliver it. */
  taken(seq: number, message: RawMessage): void {
    this.#taken.set(seq, { message, deliveredAt: 0, dead: false });
  }

  /** The group hands out `seq` for the `attempt`th time. */
  delivered(seq: number, attempt: number): void {
    const tracked = this.#taken.get(seq);
    if (!tracked) return;
    if (tracked.deliveredAt === 0) this.#inFlight++;
    tracked.deliveredAt = Date.now();
    tracked.dead = false;
    this.#observer.delivered(this.group, tracked.message.subject, attempt);
    if (attempt > 1) this.#observer.redelivered(this.group, tracked.message.subject, attempt);
  }

  /** The group is storing `entry` as a dead letter; the ack that follows is its. */
  deadLettered(entry: DeadLetter): void {
    for (const tracked of this.#taken.values())
      if (tracked.message === entry.message) {
        tracked.dead = true;
        return;
      }
  }

  /** `seq` left the group for good (acked by a member, or dead-lettered). */
  acked(seq: number): void {
    const tracked = this.#taken.get(seq);
    if (!tracked) return;
    this.#taken.delete(seq);
    if (tracked.deliveredAt !== 0) this.#inFlight--;
    const subject = tracked.message.subject;
    if (tracked.dead) {
      this.#observer.deadLettered(this.group, subject);
      return;
    }
    const now = Date.now();
    this.#observer.acked(this.group, subject, now - tracked.deliveredAt, now - tracked.message.time);
  }

  /** The group left this process. */
  close(): void {
    this.#observer.groupClosed?.(this);
  }
}
