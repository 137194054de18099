/**
 * The dedup window: message id -> sequence for every record stored in the
 * last `windowMs`. Record times never decrease, so the map's insertion order
 * is time order and expiry pops from the front. It lives in memory and is
 * rebuilt on open by reading the records of the window back from the log.
 */
import type { Segment } from './segment.js';

/** See the module comment. */
export class DedupWindow {
  readonly windowMs: number;
  readonly #entries = new Map<string, { sequence: number; time: number }>();

  /** `windowMs`: how long an id is remembered; 0 disables dedup. */
  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** The sequence stored for `id` within the window at `now`, if any. */
  lookup(id: string, now: number): number | undefined {
    const entry = this.#entries.get(id);
    if (!entry || entry.time < now - this.windowMs) return undefined;
    return entry.sequence;
  }

  /** Remembers `id` as stored at `sequence` at `time`. */
  add(id: string, sequence: number, time: number): void {
    if (this.windowMs <= 0) return;
    this.#entries.delete(id);
    this.#entries.set(id, { sequence, time });
  }

  /** Forgets ids stored before `now - windowMs`. */
  expire(now: number): void {
    const cutoff = now - this.windowMs;
    for (const [id, entry] of this.#entries) {
      if (entry.time >= cutoff) break;
      this.#entries.delete(id);
    }
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
