/**
 * The dedup window: message id -> sequence for every record stored in the
 * last `windowMs`. Record times never decrease, so ids are kept in a ring in
 * time order and expiry pops from its front; the map holds a plain number
 * per id (no object per entry), and an id stored again is told apart from
 * its older ring entry by its sequence. It lives in memory and is rebuilt on
 * open by reading the records of the window back from the log.
 */
import type { Segment } from './segment.js';

/** See the module comment. */
export class DedupWindow {
  readonly windowMs: number;
  readonly #sequences = new Map<string, number>();
  /** Ring of entries in time order: ids, their sequences and times, from `#head`, `#count` of them. */
  #ids: (string | undefined)[] = new Array<string | undefined>(1024);
  #seqs = new Float64Array(1024);
  #times = new Float64Array(1024);
  #head = 0;
  #count = 0;

  /** `windowMs`: how long an id is remembered; 0 disables dedup. */
  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.#sequences.size;
  }

  /** The sequence stored for `id` within the window at `now`, if any. */
  lookup(id: string, now: number): number | undefined {
    this.expire(now);
    return this.#sequences.get(id);
  }

  /** Remembers `id` as stored at `sequence` at `time`. */
  add(id: string, sequence: number, time: number): void {
    if (this.windowMs <= 0) return;
    if (this.#count === this.#ids.length) this.#grow();
    const at = (this.#head + this.#count) & (this.#ids.length - 1);
    this.#ids[at] = id;
    this.#seqs[at] = sequence;
    this.#times[at] = time;
    this.#count++;
    this.#sequences.set(id, sequence);
  }

  /** Forgets ids stored before `now - windowMs`. */
  expire(now: number): void {
    const cutoff = now - this.windowMs;
    const mask = this.#ids.length - 1;
    while (this.#count > 0 && (this.#times[this.#head] as number) < cutoff) {
      const id = this.#ids[this.#head] as string;
      // Only when the map still holds this entry, not a later store of the same id.
      if (this.#sequences.get(id) === this.#seqs[this.#head]) this.#sequences.delete(id);
      this.#ids[this.#head] = undefined;
      this.#head = (this.#head + 1) & mask;
      this.#count--;
    }
  }

  #grow(): void {
    const size = this.#ids.length * 2;
    const ids = new Array<string | undefined>(size);
    const seqs = new Float64Array(size);
    const times = new Float64Array(size);
    const mask = this.#ids.length - 1;
    for (let k = 0; k < this.#count; k++) {
      const from = (this.#head + k) & mask;
      ids[k] = this.#ids[from];
      seqs[k] = this.#seqs[from] as number;
      times[k] = this.#times[from] as number;
    }
    this.#ids = ids;
    this.#seqs = seqs;
    this.#times = times;
    this.#head = 0;
  }
}

/** Loads into `window` every id stored in `segments` within the window before `now` (recovery). */
export async function rebuildDedup(
  window: DedupWindow,
  segments: readonly Segment[],
  now: number,
): Promise<void> {
  if (window.windowMs <= 0) return;
  const from = now - window.windowMs;
  for (const segment of segments) {
    if (segment.count === 0 || segment.lastTime < from) continue;
    const scanner = segment.scannerFromTime(from, true);
    for (let r = await scanner.next(); r; r = await scanner.next()) {
      if (r.id !== undefined && r.time >= from) window.add(r.id, r.sequence, r.time);
    }
  }
}
