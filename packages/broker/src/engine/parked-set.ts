/**
 * The sequences a group parked (delayed, behind their key, or being
 * dead-lettered), with the lowest at hand: the group's ack floor must stay
 * below it. Sequences arrive almost always in ascending order (the cursor's),
 * so the set is an ascending array with lazy deletion.
 */

/** See the module comment. */
export class ParkedSet {
  #order: number[] = [];
  #head = 0;
  readonly #live = new Set<number>();

  get size(): number {
    return this.#live.size;
  }

  /** The lowest parked sequence, if any. */
  get lowest(): number | undefined {
    while (this.#head < this.#order.length && !this.#live.has(this.#order[this.#head] as number))
      this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
    return this.#order[this.#head];
  }

  has(seq: number): boolean {
    return this.#live.has(seq);
  }

  /** Parks `seq` (again: no change). */
  add(seq: number): void {
    if (this.#live.has(seq)) return;
    this.#live.add(seq);
    const order = this.#order;
    const last = order[order.length - 1];
    if (last === undefined || last < seq) {
      order.push(seq);
      return;
    }
    let low = this.#head;
    let high = order.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((order[mid] as number) < seq) low = mid + 1;
      else high = mid;
    }
    order.splice(low, 0, seq);
  }

  delete(seq: number): void {
    this.#live.delete(seq);
  }
}
