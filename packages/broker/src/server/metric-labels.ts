/**
 * The label values behind the broker's metrics: the two-level count tables
 * (by stream or group, then subject), the cap that keeps a label's distinct
 * values bounded (`_other` past it), and the one label all private
 * subscriptions' groups share (`_private`).
 */

/** A group's message counts since the broker started. */
export interface GroupTotals {
  delivered: number;
  acked: number;
  redelivered: number;
  deadLetters: number;
}

/** The label value that stands for every subject (or group) past the cap. */
export const OTHER_SUBJECT = '_other';

/** The group label value of every private subscription's group. */
export const PRIVATE_GROUP_LABEL = '_private';

/** Private subscriptions' groups are named `_private.<service>.<id>` by the Bus. */
const PRIVATE_PREFIX = `${PRIVATE_GROUP_LABEL}.`;

/** Whether `group` is a private subscription's group. */
export function isPrivateGroup(group: string): boolean {
  return group.startsWith(PRIVATE_PREFIX);
}

/** Zero counts. */
export function zeroTotals(): GroupTotals {
  return { delivered: 0, acked: 0, redelivered: 0, deadLetters: 0 };
}

/** The first `limit` distinct values of a label keep their name; later ones become `_other`. */
export class LabelCap {
  readonly #seen = new Set<string>();
  constructor(readonly limit: number) {}

  /** The label value for `value`. */
  label(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.limit) return OTHER_SUBJECT;
    this.#seen.add(value);
    return value;
  }

  /** The values that kept their name. */
  values(): IterableIterator<string> {
    return this.#seen.values();
  }
}

/** Counts by (first label, subject): the two-level maps behind the labelled counters. */
export class Table<T> {
  readonly rows = new Map<string, Map<string, T>>();
  constructor(readonly make: () => T) {}

  get(outer: string, subject: string): T {
    let inner = this.rows.get(outer);
    if (!inner) {
      inner = new Map();
      this.rows.set(outer, inner);
    }
    let row = inner.get(subject);
    if (!row) {
      row = this.make();
      inner.set(subject, row);
    }
    return row;
  }
}
