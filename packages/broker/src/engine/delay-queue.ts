/**
 * The sequences a group holds back until their delivery time, as a binary
 * min-heap of (time, sequence) with one timer for the earliest. It keeps two
 * numbers per message, not the message: the group reads a message again
 * from the log when it is due, so delayed messages cost no read-ahead.
 */
import { type LongTimeout, longTimeout } from '@courier/core/internal';

interface Entry {
  at: number;
  seq: number;
}

/** See the module comment. */
export class DelayQueue {
  readonly #heap: Entry[] = [];
  readonly #due: (seqs: number[]) => void;
  #timer: LongTimeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** `due` gets the sequences whose time came, in time order. */
  constructor(due: (seqs: number[]) => void) {
    this.#due = due;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Holds `seq` until `at` (ms since the epoch). */
  add(seq: number, at: number): void {
    const heap = this.#heap;
    heap.push({ at, seq });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry).at <= at) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = { at, seq };
    this.#arm();
  }

  /** Drops every entry and the timer. */
  clear(): void {
    this.#heap.length = 0;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #pop(): Entry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      let at = last.at;
      if (left < heap.length && (heap[left] as Entry).at < at) {
        smallest = left;
        at = (heap[left] as Entry).at;
      }
      if (right < heap.length && (heap[right] as Entry).at < at) smallest = right;
      if (smallest === i) break;
      heap[i] = heap[smallest] as Entry;
      i = smallest;
    }
    heap[i] = last;
    return top;
  }

  #arm(): void {
    const next = this.#heap[0];
    if (!next || next.at >= this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = next.at;
    this.#timer = longTimeout(() => this.#fire(), Math.max(0, next.at - Date.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const due: number[] = [];
    while ((this.#heap[0]?.at ?? Number.POSITIVE_INFINITY) <= now) due.push((this.#pop() as Entry).seq);
    this.#arm();
    if (due.length > 0) this.#due(due);
  }
}
