/**
 * The deliveries of one group member: the credit they take, the hold of a
 * retry copy until it is due, the ack wait, and what each way of settling
 * does. An ack settles the record's offset; a nack of an unkeyed record
 * produces a retry copy and settles the original, while a keyed record
 * retries in place, holding its key; a dead letter is stored, then
 * settled. A settle that comes in while the partition is revoked waits to
 * see whether this member gets the partition back (see `PartitionState.deferred`).
 * Nothing here commits: settling moves the partition's watermark, and the
 * member commits it.
 */
import type { ConsumeOptions, Delivery } from '@courier/core';
import type { MemberContext } from './member-context.js';
import type { PartitionState, Pending } from './partition-state.js';
import type { IncomingRecord } from './record.js';

/** A fetched record of a partition, as the member hands it out. */
export type Slot = Pending<IncomingRecord>;

/** What the deliveries need from the member that hands them out. */
export interface DeliveryHost {
  readonly ctx: MemberContext;
  readonly options: ConsumeOptions;
  /** The group's retry topic, where unkeyed nacks go. */
  readonly retryTopic: string;
  /** The application's handler. */
  readonly onDelivery: (delivery: Delivery) => void;
  /** Whether the member is closing: held records are not handed out again. */
  closed(): boolean;
  /** Whether the member left as a crash would: settles do nothing. */
  killed(): boolean;
  /** Asks for a commit of what has moved (progress and hand-outs alike). */
  scheduleCommit(): void;
  /** Hands out more records, now that credit may be free. */
  pump(): void;
}

/**
 * Hands records out one delivery at a time and settles them. Does not
 * choose which record goes next (the member does, partitions in turn) and
 * does not commit.
 */
export class Deliveries {
  readonly #host: DeliveryHost;
  readonly #held = new Set<NodeJS.Timeout>();
  #inFlight = 0;

  constructor(host: DeliveryHost) {
    this.#host = host;
  }

  /** Deliveries handed out (or held until due) and not yet settled: the credit in use. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Hands a record out, at once or, for a retry copy not due yet, when it is due. */
  handOut(state: PartitionState<IncomingRecord>, pending: Slot): void {
    const { record } = pending;
    const due = record.retry?.due ?? 0;
    const wait = due - Date.now();
    this.#inFlight++;
    state.inFlight++;
    if (wait > 0) {
      // A retry that is not due yet: hold it, uncommitted, so a crash loses nothing.
      this.#hold(() => this.#deliver(state, pending), wait);
      return;
    }
    this.#deliver(state, pending);
  }

  /** Cancels every held record and pending redelivery; their offsets stay uncommitted. */
  clear(): void {
    for (const timer of this.#held) clearTimeout(timer);
    this.#held.clear();
  }

  /** Runs `run` after `delay` ms unless {@link clear} comes first. */
  #hold(run: () => void, delay: number): void {
    const timer = setTimeout(() => {
      this.#held.delete(timer);
      run();
    }, delay);
    this.#held.add(timer);
  }

  #deliver(state: PartitionState<IncomingRecord>, pending: Slot, again?: number): void {
    const host = this.#host;
    const { record } = pending;
    const attempt = again ?? Math.max(record.retry?.attempts ?? 0, state.earlierAttempts(pending.offset)) + 1;
    host.scheduleCommit(); // records the hand-out in the commit metadata
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      clearTimeout(timer);
      state.inFlight--;
      this.#inFlight--;
    };
    // Hands the same record out again from here, its offset still uncommitted, so a crash loses nothing.
    const redeliver = (delay: number): void => {
      this.#hold(() => {
        if (host.closed()) return;
        const again = (): void => {
          this.#inFlight++;
          state.inFlight++;
          this.#deliver(state, pending, attempt + 1);
        };
        if (state.revoked && !state.dropped) state.deferred.push({ run: again, drop: () => undefined });
        else if (!state.revoked) again();
      }, delay);
    };
    const armAckWait = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (settled) return;
        settled = true; // the late settle of this delivery is ignored
        release();
        redeliver(0);
        host.pump();
      }, host.options.ackWait);
    };
    armAckWait();
    const settle = async (action: () => Promise<void>): Promise<void> => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (state.revoked && !state.dropped && !host.killed() && !host.closed()) {
        // Revoked: if this member gets the partition back the settle counts then; if another does, it delivers again.
        state.deferred.push({
          run: () => void settleNow(action),
          drop: () => {
            release();
            host.pump();
          },
        });
        return;
      }
      await settleNow(action);
    };
    const settleNow = async (action: () => Promise<void>): Promise<void> => {
      try {
        if (!state.revoked && !host.killed()) await action();
        if (!state.revoked) {
          state.settle(pending);
          host.scheduleCommit();
        }
      } finally {
        release();
        host.pump();
      }
    };
    // Keyed records retry in place, holding their key, so later records of the key wait for them.
    const keyed = state.orderKeys && pending.key !== undefined;
    const delivery: Delivery = {
      message: record.message,
      attempt,
      ack: () => settle(async () => undefined),
      nack: async (delay) => {
        if (!keyed) {
          await settle(() =>
            host.ctx.retry(host.retryTopic, record, attempt, Date.now() + Math.max(0, delay)),
          );
          return;
        }
        if (settled) return;
        settled = true;
        release();
        redeliver(Math.max(0, delay));
        host.pump();
      },
      deadLetter: (error) =>
        settle(() =>
          host.ctx.deadLetter({
            incoming: record,
            group: host.options.group,
            pattern: host.options.subject,
            error,
            attempts: attempt,
          }),
        ),
      touch: () => {
        if (!settled) armAckWait();
      },
    };
    try {
      host.onDelivery(delivery);
    } catch (error) {
      host.ctx.onError(error);
    }
  }
}
