/**
 * A group member's offset commits: each partition's watermark and commit
 * metadata (see `partition-state.ts`), gathered over a short interval and
 * sent in one request, so that a busy member does not commit per record.
 * A commit that fails (usually a rebalance in progress) is sent again
 * shortly; the watermark only moves forward, so a late commit is harmless.
 * The commit made while a partition is revoked is the member's, not this
 * batcher's: it must be synchronous and happen before the partition goes.
 */
import type { KafkaConsumer } from '@confluentinc/kafka-javascript';
import type { PartitionState } from './partition-state.js';
import type { IncomingRecord } from './record.js';

/** Commits are batched over this many milliseconds; a crash redelivers at most what was settled meanwhile. */
const COMMIT_INTERVAL = 20;
/** A failed commit is tried again after this many milliseconds. */
const RETRY_INTERVAL = 50;

/** What the batcher needs from its member. */
export interface CommitHost {
  /** The member's consumer, once it has one. */
  consumer(): KafkaConsumer | undefined;
  /** The partitions the member holds now. */
  partitions(): Iterable<PartitionState<IncomingRecord>>;
  /** One held partition, if the member still holds it. */
  partition(topic: string, partition: number): PartitionState<IncomingRecord> | undefined;
  /** Whether the member is closed: nothing more is committed, except by {@link CommitBatcher.flush} before that. */
  closed(): boolean;
  /** Whether the member left as a crash would: nothing more is committed, ever. */
  killed(): boolean;
  onError(error: unknown): void;
}

/** Batches and retries the commits of one member's partitions. */
export class CommitBatcher {
  readonly #host: CommitHost;
  #timer: NodeJS.Timeout | undefined;

  constructor(host: CommitHost) {
    this.#host = host;
  }

  /** Commits what has changed at the end of the current interval, unless one is scheduled already. */
  schedule(): void {
    if (this.#timer || this.#host.killed() || this.#host.closed()) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, COMMIT_INTERVAL);
  }

  /** Marks partitions whose commit failed as needing one again, and schedules it. */
  failed(offsets: ReadonlyArray<{ topic: string; partition: number }>, error: unknown): void {
    if (this.#host.killed()) return;
    for (const tp of offsets) this.#host.partition(tp.topic, tp.partition)?.forget();
    if (this.#host.closed()) {
      this.#host.onError(error);
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, RETRY_INTERVAL);
  }

  /** Commits every held partition that changed since its last commit; `sync` waits for the broker. */
  flush(sync = false): void {
    const consumer = this.#host.consumer();
    if (!consumer || this.#host.killed() || this.#host.closed()) return;
    const commits = [...this.#host.partitions()]
      .filter((s) => !s.revoked)
      .map((s) => s.commit())
      .filter((c) => c !== undefined);
    if (commits.length === 0) return;
    try {
      if (sync) consumer.commitSync(commits);
      else consumer.commit(commits);
    } catch (error) {
      // Usually a rebalance in progress: try again shortly; the watermark only moves forward.
      this.failed(commits, error);
    }
  }

  /** Drops a scheduled commit (the member is leaving). */
  cancel(): void {
    clearTimeout(this.#timer);
  }
}
