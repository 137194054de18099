/**
 * One durable subscription of the memory engine: a cursor over the log, the
 * messages ready to hand out, those in flight with their members, those
 * waiting for a retry delay or their delivery time, and per-key ordering.
 */
import type { WireError } from '../errors.js';
import type { GroupMember } from '../local/local-engine.js';
import type { RawMessage } from '../message.js';
import { subjectMatcher } from '../subject.js';
import type { DeadLetter, Delivery } from '../transport.js';

/** The part of the log a group reads. */
export interface LogReader {
  /** The sequence the next published message will get. */
  readonly end: number;
  /** The oldest sequence still held. */
  readonly first: number;
  get(seq: number): RawMessage | undefined;
}

/** How a group behaves, fixed when it is created. */
export interface GroupOptions {
  readonly name: string;
  readonly pattern: string;
  readonly startSeq: number;
  readonly durable: boolean;
  /** Hold messages until their `deliverAt`. */
  readonly schedule: boolean;
  /** One message per key at a time, in order. */
  readonly orderKeys: boolean;
}

interface Held {
  member: GroupMember;
  token: number;
  timer: NodeJS.Timeout;
}

/** The dispatch state machine of one group. */
export class MemoryGroup {
  readonly options: GroupOptions;
  readonly members = new Set<GroupMember>();
  readonly #log: LogReader;
  readonly #onDeadLetter: (entry: DeadLetter) => void;
  readonly #matches: (subject: string) => boolean;
  #cursor: number;
  #ready: number[] = [];
  readonly #attempts = new Map<number, number>();
  readonly #held = new Map<number, Held>();
  readonly #waiting = new Map<number, NodeJS.Timeout>();
  readonly #keys = new Map<number, string>();
  readonly #keyOwner = new Map<string, number>();
  readonly #keyQueue = new Map<string, number[]>();
  readonly #replayed = new Map<number, RawMessage>();
  #replays = 0;
  #token = 0;
  #rotation = 0;
  #pumping = false;

  constructor(options: GroupOptions, log: LogReader, onDeadLetter: (entry: DeadLetter) => void) {
    this.options = options;
    this.#log = log;
    this.#onDeadLetter = onDeadLetter;
    this.#matches = subjectMatcher(options.pattern);
    this.#cursor = options.startSeq;
  }

  /** Messages not yet acked: ready, in flight, waiting, or not yet read from the log. */
  get pending(): number {
    let unread = 0;
    for (let seq = Math.max(this.#cursor, this.#log.first); seq < this.#log.end; seq++) {
      const message = this.#log.get(seq);
      if (message && this.#matches(message.subject)) unread++;
    }
    let queued = 0;
    for (const queue of this.#keyQueue.values()) queued += queue.length;
    return unread + this.#ready.length + this.#held.size + this.#waiting.size + queued;
  }

  /** Reads new messages from the log and hands out what members have credit for. */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      this.#read();
      this.#dispatch();
    } finally {
      this.#pumping = false;
    }
  }

  /** Offers a dead letter's message to this group again, attempts counted afresh. */
  replay(message: RawMessage): void {
    // Replays live beside the log under negative sequences: the log may have dropped the original.
    const seq = -++this.#replays;
    this.#replayed.set(seq, message);
    this.#enqueue(seq);
    this.pump();
  }

  /** Takes a member out: its unsettled deliveries go back to the front of the queue. */
  detach(member: GroupMember): void {
    this.members.delete(member);
    const released: number[] = [];
    for (const [seq, held] of this.#held) {
      if (held.member !== member) continue;
      clearTimeout(held.timer);
      this.#held.delete(seq);
      released.push(seq);
    }
    this.#ready.unshift(...released.sort((a, b) => a - b));
    member.inFlight = 0;
    this.pump();
  }

  /** Drops every timer; the group is gone. */
  dispose(): void {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    for (const timer of this.#waiting.values()) clearTimeout(timer);
    this.#held.clear();
    this.#waiting.clear();
  }

  #message(seq: number): RawMessage | undefined {
    return seq < 0 ? this.#replayed.get(seq) : this.#log.get(seq);
  }

  #read(): void {
    this.#cursor = Math.max(this.#cursor, this.#log.first);
    for (; this.#cursor < this.#log.end; this.#cursor++) {
      const seq = this.#cursor;
      const message = this.#log.get(seq);
      if (!message || !this.#matches(message.subject)) continue;
      const wait =
        this.options.schedule && message.deliverAt !== undefined ? message.deliverAt - Date.now() : 0;
      if (wait > 0) this.#wait(seq, wait, () => this.#enqueue(seq));
      else this.#enqueue(seq);
    }
  }

  #wait(seq: number, ms: number, then: () => void): void {
    const timer = setTimeout(() => {
      this.#waiting.delete(seq);
      then();
      this.pump();
    }, ms);
    timer.unref();
    this.#waiting.set(seq, timer);
  }

  #enqueue(seq: number): void {
    const key = this.options.orderKeys ? this.#message(seq)?.key : undefined;
    if (key !== undefined) this.#keys.set(seq, key);
    if (key === undefined) {
      this.#ready.push(seq);
      return;
    }
    const owner = this.#keyOwner.get(key);
    if (owner === undefined || owner === seq) {
      this.#keyOwner.set(key, seq);
      this.#ready.push(seq);
      return;
    }
    const queue = this.#keyQueue.get(key);
    if (queue) queue.push(seq);
    else this.#keyQueue.set(key, [seq]);
  }

  #pickMember(): GroupMember | undefined {
    const members = [...this.members];
    let best: GroupMember | undefined;
    for (let i = 0; i < members.length; i++) {
      const member = members[(this.#rotation + i) % members.length] as GroupMember;
      if (member.stopped || member.inFlight >= member.maxInFlight) continue;
      if (!best || member.inFlight < best.inFlight) best = member;
    }
    this.#rotation++;
    return best;
  }

  #dispatch(): void {
    while (this.#ready.length > 0) {
      const member = this.#pickMember();
      if (!member) return;
      const seq = this.#ready.shift() as number;
      const message = this.#message(seq);
      if (!message) {
        // Dropped by the stream's retention before it could be delivered.
        this.#finish(seq);
        continue;
      }
      const attempt = (this.#attempts.get(seq) ?? 0) + 1;
      this.#attempts.set(seq, attempt);
      const token = ++this.#token;
      this.#held.set(seq, { member, token, timer: this.#ackTimer(seq, token, member.ackWait) });
      member.inFlight++;
      // Handed over after this pass, so a member that settles at once cannot spin the loop on one message.
      const delivery = this.#delivery(seq, token, message, attempt);
      queueMicrotask(() => member.deliver(delivery));
    }
  }

  #ackTimer(seq: number, token: number, ackWait: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const held = this.#take(seq, token);
      if (!held) return;
      this.#ready.unshift(seq);
      this.pump();
    }, ackWait);
    timer.unref();
    return timer;
  }

  /** Removes a delivery from the in-flight set if `token` is still its current delivery. */
  #take(seq: number, token: number): Held | undefined {
    const held = this.#held.get(seq);
    if (!held || held.token !== token) return undefined;
    clearTimeout(held.timer);
    this.#held.delete(seq);
    held.member.inFlight = Math.max(held.member.inFlight - 1, 0);
    return held;
  }

  #finish(seq: number): void {
    // The key as recorded when queued: retention may have dropped the message since.
    const key = this.#keys.get(seq);
    this.#keys.delete(seq);
    this.#attempts.delete(seq);
    this.#replayed.delete(seq);
    if (key === undefined || this.#keyOwner.get(key) !== seq) return;
    const queue = this.#keyQueue.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.#keyQueue.delete(key);
    if (next === undefined) this.#keyOwner.delete(key);
    else {
      this.#keyOwner.set(key, next);
      this.#ready.push(next);
    }
  }

  #delivery(seq: number, token: number, message: RawMessage, attempt: number): Delivery {
    const settle = (action: (held: Held) => void): Promise<void> => {
      const held = this.#take(seq, token);
      if (held) {
        action(held);
        this.pump();
      }
      return Promise.resolve();
    };
    return {
      message,
      attempt,
      ack: () => settle(() => this.#finish(seq)),
      nack: (delay) =>
        settle((held) => {
          if (delay > 0 && held.member.nackDelay) this.#wait(seq, delay, () => this.#ready.push(seq));
          else this.#ready.push(seq);
        }),
      deadLetter: (error: WireError) =>
        settle(() => {
          this.#onDeadLetter({
            message,
            group: this.options.name,
            pattern: this.options.pattern,
            error,
            attempts: attempt,
            time: Date.now(),
          });
          this.#finish(seq);
        }),
      touch: () => {
        const held = this.#held.get(seq);
        if (!held || held.token !== token) return;
        clearTimeout(held.timer);
        held.timer = this.#ackTimer(seq, token, held.member.ackWait);
      },
    };
  }
}
