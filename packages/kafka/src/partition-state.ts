/**
 * One assigned partition, as one member sees it between an assignment and
 * its revocation: records fetched but not yet handed out, records held
 * until their retry is due, per-key order, and the commit watermark.
 *
 * Kafka commits a single offset per partition, so the watermark is the
 * lowest offset not yet settled: a later offset that finishes first is
 * remembered, and committed only when everything before it is settled.
 * Nothing is skipped; after a crash, what lay above the watermark is
 * delivered again (the at-least-once window).
 *
 * The commit metadata carries `{ d, a }`: offsets below `d` were already
 * handed out, `a` times, so the member that takes the partition over
 * counts those deliveries as attempts (Kafka itself keeps no delivery count).
 */

/** A fetched record waiting in a partition. */
export interface Pending<R> {
  readonly offset: number;
  readonly key: string | undefined;
  readonly record: R;
}

/** What the previous owner of a partition left in its commit metadata. */
export interface Carry {
  /** Offsets below this were handed out before. */
  readonly until: number;
  /** How many times. */
  readonly attempts: number;
}

/** Reads commit metadata written by {@link PartitionState.metadata}; anything else means no carry. */
export function parseCarry(metadata: string | null | undefined): Carry | undefined {
  if (!metadata) return undefined;
  try {
    const parsed = JSON.parse(metadata) as { d?: unknown; a?: unknown };
    if (typeof parsed.d === 'number' && typeof parsed.a === 'number')
      return { until: parsed.d, attempts: parsed.a };
  } catch {
    // written by another tool: not ours to read
  }
  return undefined;
}

/** Of two accounts of earlier deliveries (the group's commit, this member's memory), the one that knows more. */
export function laterCarry(a: Carry | undefined, b: Carry | undefined): Carry | undefined {
  if (!a) return b;
  if (!b) return a;
  return { until: Math.max(a.until, b.until), attempts: Math.max(a.attempts, b.attempts) };
}

/** The bookkeeping of one partition. */
export class PartitionState<R> {
  readonly topic: string;
  readonly partition: number;
  readonly orderKeys: boolean;
  /** Set when the partition was revoked or the member is closing: nothing more is handed out or committed. */
  revoked = false;
  /** Deliveries handed out and not yet settled. */
  inFlight = 0;
  /**
   * Settles and redeliveries that came in while the partition was revoked,
   * kept in case the same member gets it back (then they run) rather than
   * another member (then they are dropped: the new owner delivers again).
   */
  readonly deferred: Array<{ run(): void; drop(): void }> = [];
  /** Set when a revoked partition went to another member for good: late settles are no-ops. */
  dropped = false;
  /** For a partition the group never committed, under `deliver: 'new'`: records older than this are skipped. */
  skipBefore: number | undefined;
  readonly #carry: Carry | undefined;
  /** Offsets seen, in order, not yet below the watermark. */
  readonly #order: number[] = [];
  readonly #done = new Set<number>();
  readonly #ready: Array<Pending<R>> = [];
  readonly #keyBusy = new Set<string>();
  readonly #keyQueues = new Map<string, Array<Pending<R>>>();
  #next: number;
  #delivered: number;
  #committed = '';

  constructor(options: {
    topic: string;
    partition: number;
    start: number;
    carry: Carry | undefined;
    orderKeys: boolean;
  }) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.orderKeys = options.orderKeys;
    this.#next = options.start;
    this.#carry = options.carry;
    this.#delivered = options.carry?.until ?? options.start;
  }

  /** Records buffered here, ready or waiting for their key. */
  get buffered(): number {
    let queued = 0;
    for (const queue of this.#keyQueues.values()) queued += queue.length;
    return this.#ready.length + queued;
  }

  /** The next offset expected from the broker. */
  get next(): number {
    return this.#next;
  }

  /** The offset to commit: everything below it is settled. */
  get watermark(): number {
    return this.#order[0] ?? this.#next;
  }

  /** How many earlier deliveries a record at `offset` had, by the previous owners' account. */
  earlierAttempts(offset: number): number {
    return this.#carry && offset < this.#carry.until ? this.#carry.attempts : 0;
  }

  /**
   * Takes a fetched record; records below an offset already seen are
   * dropped (a refetch). With `skip`, the record counts as settled at once.
   */
  add(pending: Pending<R>, skip = false): boolean {
    if (pending.offset < this.#next) return false;
    this.#order.push(pending.offset);
    this.#next = pending.offset + 1;
    if (skip) {
      this.#done.add(pending.offset);
      this.#advance();
      return true;
    }
    const key = this.orderKeys ? pending.key : undefined;
    if (key !== undefined && this.#keyBusy.has(key)) {
      const queue = this.#keyQueues.get(key);
      if (queue) queue.push(pending);
      else this.#keyQueues.set(key, [pending]);
    } else {
      if (key !== undefined) this.#keyBusy.add(key);
      this.#ready.push(pending);
    }
    return true;
  }

  /** The next record to hand out, if any. */
  take(): Pending<R> | undefined {
    const pending = this.#ready.shift();
    if (pending) this.#delivered = Math.max(this.#delivered, pending.offset + 1);
    return pending;
  }

  /** Puts a taken record back at the front (no credit after all). */
  untake(pending: Pending<R>): void {
    this.#ready.unshift(pending);
  }

  /** Marks an offset settled, releasing the next record of its key. */
  settle(pending: Pending<R>): void {
    this.#done.add(pending.offset);
    this.#advance();
    const key = this.orderKeys ? pending.key : undefined;
    if (key === undefined) return;
    const queue = this.#keyQueues.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.#keyQueues.delete(key);
    if (next) this.#ready.push(next);
    else this.#keyBusy.delete(key);
  }

  #advance(): void {
    while (this.#order.length > 0 && this.#done.has(this.#order[0] as number)) {
      this.#done.delete(this.#order.shift() as number);
    }
  }

  /** The commit metadata: see the module comment. */
  metadata(): string {
    const carried = this.#carry && this.watermark < this.#carry.until;
    return JSON.stringify({ d: this.#delivered, a: carried ? (this.#carry?.attempts ?? 0) + 1 : 1 });
  }

  /** Forgets the last commit (it failed), so that the next call sends it again. */
  forget(): void {
    this.#committed = '';
  }

  /** The commit to send, or `undefined` when nothing changed since the last one. */
  commit(): { topic: string; partition: number; offset: number; metadata: string } | undefined {
    const offset = this.watermark;
    const metadata = this.metadata();
    const stamp = `${offset}:${metadata}`;
    if (stamp === this.#committed) return undefined;
    this.#committed = stamp;
    return { topic: this.topic, partition: this.partition, offset, metadata };
  }
}
