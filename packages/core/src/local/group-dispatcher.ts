/**
 * The dispatch state machine of one group, shared by every in-process engine
 * (the memory engine and the embedded broker): the messages ready to hand
 * out, those in flight with their members, those waiting for a retry delay
 * or their delivery time, per-key ordering, credit and ack deadlines. Where
 * messages come from and what is stored on a settle are the engine's, given
 * as hooks.
 */
import type { WireError } from '../errors.js';
import { type LongTimeout, longTimeout } from '../long-timeout.js';
import type { RawMessage } from '../message.js';
import type { DeadLetter, Delivery } from '../transport.js';
import type { GroupMember } from './local-engine.js';

/** How a group behaves, fixed when it is created. */
export interface DispatcherOptions {
  readonly name: string;
  readonly pattern: string;
  /** Hold messages until their `deliverAt`. */
  readonly schedule: boolean;
  /** One message per key at a time, in order. */
  readonly orderKeys: boolean;
}

/** What the engine does around dispatch. Promises returned by hooks are awaited before a settle resolves. */
export interface DispatcherHooks {
  /** Deliveries made before this process saw the message (stored delivery counts); default 0. */
  priorAttempts?(seq: number): number;
  /** A delivery is being handed out, the `attempt`th. */
  delivered?(seq: number, attempt: number): void;
  /** Acked: record it durably. */
  acked?(seq: number): Promise<void> | void;
  /** Dead-lettered: store the entry (the message is acked right after). */
  deadLettered(entry: DeadLetter): Promise<void> | void;
  /** A message left the group for good (acked or dead-lettered); the engine may read more. */
  finished?(seq: number): void;
}

interface Held {
  member: GroupMember;
  token: number;
  /** When the engine takes it back unless settled or touched (`performance.now()` time). */
  deadline: number;
}

/** See the module comment. */
export class GroupDispatcher {
  readonly options: DispatcherOptions;
  readonly members = new Set<GroupMember>();
  readonly #hooks: DispatcherHooks;
  readonly #messages = new Map<number, RawMessage>();
  #ready: number[] = [];
  readonly #attempts = new Map<number, number>();
  readonly #held = new Map<number, Held>();
  readonly #waiting = new Map<number, LongTimeout>();
  readonly #keys = new Map<number, string>();
  readonly #keyOwner = new Map<string, number>();
  readonly #keyQueue = new Map<string, number[]>();
  #replays = 0;
  #token = 0;
  #rotation = 0;
  #pumping = false;
  /** One timer for every ack deadline: it fires at the earliest and re-arms for the next. */
  #sweep: LongTimeout | undefined;
  #sweepAt = Number.POSITIVE_INFINITY;

  constructor(options: DispatcherOptions, hooks: DispatcherHooks) {
    this.options = options;
    this.#hooks = hooks;
  }

  /** Messages taken in and not yet acked or dead-lettered. */
  get outstanding(): number {
    return this.#messages.size;
  }

  /** The lowest sequence taken in and not yet finished, if any (replays, at negative sequences, excluded). */
  get lowestOutstanding(): number | undefined {
    let lowest: number | undefined;
    for (const seq of this.#messages.keys())
      if (seq >= 0 && (lowest === undefined || seq < lowest)) lowest = seq;
    return lowest;
  }

  /** Takes in a message the group must deliver (in sequence order per key). */
  add(seq: number, message: RawMessage): void {
    this.#messages.set(seq, message);
    const wait =
      this.options.schedule && message.deliverAt !== undefined ? message.deliverAt - Date.now() : 0;
    if (wait > 0) this.#wait(seq, wait, () => this.#enqueue(seq));
    else this.#enqueue(seq);
  }

  /** Offers a dead letter's message to this group again, attempts counted afresh. */
  replay(message: RawMessage): void {
    // Replays live under negative sequences: the stream may have dropped the original.
    this.add(-++this.#replays, message);
    this.dispatch();
  }

  /** Hands out what members have credit for. */
  dispatch(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let handOver: { member: GroupMember; delivery: Delivery }[] | undefined;
    try {
      while (this.#ready.length > 0) {
        const member = this.#pickMember();
        if (!member) return;
        const seq = this.#ready.shift() as number;
        const message = this.#messages.get(seq) as RawMessage;
        const attempt = (this.#attempts.get(seq) ?? this.#hooks.priorAttempts?.(seq) ?? 0) + 1;
        this.#attempts.set(seq, attempt);
        const token = ++this.#token;
        const deadline = performance.now() + member.ackWait;
        this.#held.set(seq, { member, token, deadline });
        if (deadline < this.#sweepAt) this.#armSweep(deadline);
        member.inFlight++;
        this.#hooks.delivered?.(seq, attempt);
        const delivery = this.#delivery(seq, token, message, attempt);
        if (handOver === undefined) handOver = [{ member, delivery }];
        else handOver.push({ member, delivery });
      }
    } finally {
      this.#pumping = false;
      // Handed over after this pass, so a member that settles at once cannot spin the loop on one message.
      if (handOver !== undefined) {
        const batch = handOver;
        queueMicrotask(() => {
          for (const { member, delivery } of batch) member.deliver(delivery);
        });
      }
    }
  }

  /** Takes a member out: its unsettled deliveries go back to the front of the queue, in order. */
  detach(member: GroupMember): void {
    this.members.delete(member);
    const released: number[] = [];
    for (const [seq, held] of this.#held) {
      if (held.member !== member) continue;
      this.#held.delete(seq);
      released.push(seq);
    }
    this.#ready.unshift(...released.sort((a, b) => a - b));
    member.inFlight = 0;
    this.dispatch();
  }

  /** Drops every timer; the group is gone. */
  dispose(): void {
    this.#sweep?.cancel();
    this.#sweep = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    for (const timer of this.#waiting.values()) timer.cancel();
    this.#held.clear();
    this.#waiting.clear();
  }

  #wait(seq: number, ms: number, then: () => void): void {
    const timer = longTimeout(() => {
      this.#waiting.delete(seq);
      then();
      this.dispatch();
    }, ms);
    this.#waiting.set(seq, timer);
  }

  #enqueue(seq: number): void {
    const key = this.options.orderKeys ? this.#messages.get(seq)?.key : undefined;
    if (key === undefined) {
      this.#ready.push(seq);
      return;
    }
    this.#keys.set(seq, key);
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
    if (this.members.size === 1) {
      for (const member of this.members)
        return member.stopped || member.inFlight >= member.maxInFlight ? undefined : member;
    }
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

  #armSweep(at: number): void {
    this.#sweep?.cancel();
    this.#sweepAt = at;
    this.#sweep = longTimeout(() => this.#expire(), at - performance.now());
  }

  /**
   * Takes back what passed its ack deadline and re-arms for the next: to the
   * front of the queue, oldest first, or after the member's redelivery delay.
   */
  #expire(): void {
    this.#sweep = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
    // Timers round to whole milliseconds: a deadline within one is due.
    const now = performance.now() + 1;
    let next = Number.POSITIVE_INFINITY;
    const expired: number[] = [];
    for (const [seq, held] of this.#held) {
      if (held.deadline <= now) expired.push(seq);
      else if (held.deadline < next) next = held.deadline;
    }
    const again: number[] = [];
    for (const seq of expired) {
      const held = this.#held.get(seq) as Held;
      this.#take(seq, held.token);
      const delay = held.member.redeliveryDelay?.(this.#attempts.get(seq) ?? 1) ?? 0;
      if (delay > 0) this.#wait(seq, delay, () => this.#ready.push(seq));
      else again.push(seq);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armSweep(next);
    if (again.length === 0) return;
    this.#ready.unshift(...again.sort((a, b) => a - b));
    this.dispatch();
  }

  /** Removes a delivery from the in-flight set if `token` is still its current delivery. */
  #take(seq: number, token: number): Held | undefined {
    const held = this.#held.get(seq);
    if (!held || held.token !== token) return undefined;
    this.#held.delete(seq);
    held.member.inFlight = Math.max(held.member.inFlight - 1, 0);
    return held;
  }

  #finish(seq: number): void {
    const key = this.#keys.get(seq);
    this.#keys.delete(seq);
    this.#attempts.delete(seq);
    this.#messages.delete(seq);
    if (key !== undefined && this.#keyOwner.get(key) === seq) {
      const queue = this.#keyQueue.get(key);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.#keyQueue.delete(key);
      if (next === undefined) this.#keyOwner.delete(key);
      else {
        this.#keyOwner.set(key, next);
        this.#ready.push(next);
      }
    }
    this.#hooks.finished?.(seq);
  }

  #delivery(seq: number, token: number, message: RawMessage, attempt: number): Delivery {
    // Own properties, not a class: engines wrap deliveries with object spread.
    const settler = this.#settler;
    const d: DeliveryRef = { seq, token, message, attempt };
    return {
      message,
      attempt,
      ack: () => settler.ack(d),
      nack: (delay) => settler.nack(d, delay),
      deadLetter: (error) => settler.deadLetter(d, error),
      touch: () => settler.touch(d),
    };
  }

  /** What deliveries call back into; one per dispatcher, so a delivery needs no closures of its own. */
  readonly #settler: Settler = {
    ack: (d) => this.#settle(d, () => this.#acked(d.seq)),
    nack: (d, delay) =>
      this.#settle(d, (held) => {
        if (delay > 0 && held.member.nackDelay) this.#wait(d.seq, delay, () => this.#ready.push(d.seq));
        else this.#ready.push(d.seq);
      }),
    deadLetter: (d, error) =>
      this.#settle(d, async (held) => {
        const entry = {
          message: d.message,
          group: this.options.name,
          pattern: this.options.pattern,
          error,
          attempts: d.attempt,
          time: Date.now(),
        };
        try {
          await this.#hooks.deadLettered(entry);
        } catch (failure) {
          // Not stored as a dead letter: deliver it again rather than hold it (and its key) forever.
          this.#wait(d.seq, Math.max(held.member.ackWait, 1000), () => this.#ready.push(d.seq));
          throw failure;
        }
        await this.#acked(d.seq);
      }),
    touch: (d) => {
      const held = this.#held.get(d.seq);
      if (!held || held.token !== d.token) return;
      // Later only: the sweep finds the new deadline when it fires and re-arms for it.
      held.deadline = performance.now() + held.member.ackWait;
    },
  };

  async #settle(d: DeliveryRef, action: (held: Held) => Promise<void> | void): Promise<void> {
    const held = this.#take(d.seq, d.token);
    if (!held) return;
    try {
      await action(held);
    } finally {
      this.dispatch();
    }
  }

  async #acked(seq: number): Promise<void> {
    try {
      if (seq >= 0) await this.#hooks.acked?.(seq);
    } finally {
      this.#finish(seq);
    }
  }
}

interface Settler {
  ack(d: DeliveryRef): Promise<void>;
  nack(d: DeliveryRef, delay: number): Promise<void>;
  deadLetter(d: DeliveryRef, error: WireError): Promise<void>;
  touch(d: DeliveryRef): void;
}

/** Which delivery a settle is for: the message's sequence and this delivery's token. */
interface DeliveryRef {
  readonly seq: number;
  readonly token: number;
  readonly message: RawMessage;
  readonly attempt: number;
}
