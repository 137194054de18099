/**
 * The state of one durable group over its stream: the ack floor (every
 * sequence at or below it is acknowledged), the acknowledged sequences above
 * the floor (acks arrive out of order when members work in parallel), and
 * how often each unacknowledged sequence was delivered. Pure and in memory;
 * `GroupStore` makes it durable.
 */
import type { AckView } from './retention.js';

/** A read-only view of a group's state. */
export interface GroupStateView extends AckView {
  /** The group's name. */
  readonly name: string;
  /** Acknowledged sequences above the floor, ascending. */
  ackedAboveFloor(): number[];
  /** How often `sequence` was delivered (0 when never, or once acknowledged). */
  deliveryCount(sequence: number): number;
  /** Delivery counts of unacknowledged sequences, ascending by sequence. */
  deliveries(): Array<[sequence: number, count: number]>;
}

/** See the module comment. */
export class GroupState implements GroupStateView {
  readonly name: string;
  #floor: number;
  readonly #acked = new Set<number>();
  readonly #deliveries = new Map<number, number>();

  /** A group whose floor starts at `ackFloor` (0: nothing acknowledged yet). */
  constructor(name: string, ackFloor = 0) {
    this.name = name;
    this.#floor = ackFloor;
  }

  get ackFloor(): number {
    return this.#floor;
  }

  isAcked(sequence: number): boolean {
    return sequence <= this.#floor || this.#acked.has(sequence);
  }

  /** Acknowledges `sequence`; the floor advances over any run it completes. Returns false when already acknowledged. */
  ack(sequence: number): boolean {
    if (this.isAcked(sequence)) return false;
    this.#deliveries.delete(sequence);
    if (sequence !== this.#floor + 1) {
      this.#acked.add(sequence);
      return true;
    }
    this.#floor = sequence;
    while (this.#acked.delete(this.#floor + 1)) this.#floor++;
    return true;
  }

  /** Acknowledges everything up to `sequence` (a group that starts at the tail, or skips released messages). */
  ackThrough(sequence: number): void {
    if (sequence <= this.#floor) return;
    this.#floor = sequence;
    for (const s of this.#acked) if (s <= sequence) this.#acked.delete(s);
    for (const s of this.#deliveries.keys()) if (s <= sequence) this.#deliveries.delete(s);
    while (this.#acked.delete(this.#floor + 1)) this.#floor++;
  }

  /** Counts one more delivery of `sequence` and returns the new count (0 when it is already acknowledged). */
  delivered(sequence: number): number {
    if (this.isAcked(sequence)) return 0;
    const count = (this.#deliveries.get(sequence) ?? 0) + 1;
    this.#deliveries.set(sequence, count);
    return count;
  }

  /** Sets a delivery count outright (snapshot load). */
  setDeliveryCount(sequence: number, count: number): void {
    if (!this.isAcked(sequence) && count > 0) this.#deliveries.set(sequence, count);
  }

  ackedAboveFloor(): number[] {
    return [...this.#acked].sort((a, b) => a - b);
  }

  deliveryCount(sequence: number): number {
    return this.#deliveries.get(sequence) ?? 0;
  }

  deliveries(): Array<[number, number]> {
    return [...this.#deliveries].sort((a, b) => a[0] - b[0]);
  }
}
