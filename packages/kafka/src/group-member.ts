/**
 * One member of a Courier group on Kafka: a consumer in the Kafka consumer
 * group `<group>:<pattern>`, subscribed to the subject's topic (or a regex
 * for a pattern) and to the group's retry topic. It hands records out with
 * credit, one at a time per key within a partition, and commits each
 * partition's watermark (see `partition-state.ts`) only after the handler's
 * ack. On a rebalance, a revoked partition stops handing out,
 * waits briefly for its deliveries to settle, commits, and is released;
 * deliveries still unsettled then go to the partition's next owner.
 */
import type { KafkaConsumer as BaseConsumer, LibrdKafkaError, Message } from '@confluentinc/kafka-javascript';
import type { ConsumeOptions, Consumer, Delivery, WireError } from '@courier/core';
import type { Kafka } from './native.js';
import { PartitionState, type Pending, parseCarry } from './partition-state.js';
import { fromRecord, type IncomingRecord } from './record.js';
import { patternToSubscription, retryTopic, topicToSubject } from './topic-names.js';

/** What a member needs from its transport. */
export interface MemberContext {
  readonly kafka: Kafka;
  readonly config: Record<string, string | number | boolean>;
  readonly topicPrefix: string;
  readonly metadataRefresh: number;
  readonly revokeWait: number;
  /** The longest `consume` waits for this member's first partitions. */
  readonly joinWait: number;
  /** Makes sure a topic exists (a metadata request, which creates it where the cluster allows). */
  ensureTopic(topic: string): Promise<void>;
  /** Produces a retry copy (attempts so far, due time) on the group's retry topic. */
  retry(topic: string, incoming: IncomingRecord, attempts: number, due: number): Promise<void>;
  /** Stores a dead letter. */
  deadLetter(entry: {
    incoming: IncomingRecord;
    group: string;
    pattern: string;
    error: WireError;
    attempts: number;
  }): Promise<void>;
  onError(error: unknown): void;
}

type KafkaConsumer = BaseConsumer;

const ASSIGN = -175;
/** librdkafka's logical offset for the start of a partition. */
const BEGINNING = -2;
const REVOKE = -174;
/** Commits are batched over this many milliseconds; a crash redelivers at most what was settled meanwhile. */
const COMMIT_INTERVAL = 20;
/** Records fetched per call. */
const BATCH = 100;

/** librdkafka errors that only mean "not yet": unknown topic or partition. */
function isTransient(error: LibrdKafkaError): boolean {
  return error.code === 3 || error.code === -188 || error.code === -185;
}

/** Pause fetching when this many records per in-flight slot are buffered. */
const BUFFER_FACTOR = 20;

type Slot = Pending<IncomingRecord>;

/** A Courier group member backed by a Kafka consumer. */
export class GroupMember implements Consumer {
  readonly #ctx: MemberContext;
  readonly #options: ConsumeOptions;
  readonly #onDelivery: (delivery: Delivery) => void;
  readonly #retryTopic: string;
  readonly #since: number;
  readonly #states = new Map<string, PartitionState<IncomingRecord>>();
  /**
   * Partitions this member gave up at the last rebalance, with their
   * deliveries still running: an eager rebalance takes every partition away
   * and often gives it straight back, and then the member carries on where
   * it was instead of handing its own running deliveries out again.
   */
  readonly #parked = new Map<string, PartitionState<IncomingRecord>>();
  /** Topic to subject, decoded once per topic. */
  readonly #subjects = new Map<string, string>();
  readonly #held = new Set<NodeJS.Timeout>();
  #consumer: KafkaConsumer | undefined;
  #polling: Promise<void> = Promise.resolve();
  #assigned: (() => void) | undefined;
  #inFlight = 0;
  #stopped = false;
  #closed = false;
  #killed = false;
  #paused = false;
  #commitTimer: NodeJS.Timeout | undefined;
  #rotation = 0;

  constructor(ctx: MemberContext, options: ConsumeOptions, onDelivery: (delivery: Delivery) => void) {
    this.#ctx = ctx;
    this.#options = options;
    this.#onDelivery = onDelivery;
    this.#retryTopic = retryTopic(options.group, options.subject, ctx.topicPrefix);
    // Compared with record timestamps (the producer's clock): see docs/engines/kafka.md.
    this.#since = Date.now();
  }

  /** The Kafka consumer group id for a Courier (group, pattern) pair. */
  static groupId(group: string, pattern: string): string {
    return `${group}:${pattern}`;
  }

  /** Connects, subscribes and starts fetching. */
  async start(): Promise<void> {
    const { kafka, config } = this.#ctx;
    // Topics made before joining keep the group from rebalancing again when they appear.
    const subscription = patternToSubscription(this.#options.subject, this.#ctx.topicPrefix);
    await Promise.all(
      [this.#retryTopic, ...(subscription.startsWith('^') ? [] : [subscription])].map((t) =>
        this.#ctx.ensureTopic(t),
      ),
    );
    const consumer: KafkaConsumer = new kafka.KafkaConsumer(
      {
        ...config,
        'group.id': GroupMember.groupId(this.#options.group, this.#options.subject),
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        // Range assigns each topic's partitions across members, so every member gets a share of the subject.
        'partition.assignment.strategy': 'range',
        'allow.auto.create.topics': true,
        'topic.metadata.refresh.interval.ms': this.#ctx.metadataRefresh,
        rebalance_cb: (error: LibrdKafkaError, assignment: Array<{ topic: string; partition: number }>) =>
          this.#rebalance(error, assignment),
        offset_commit_cb: (
          error: LibrdKafkaError | undefined,
          offsets: Array<{ topic: string; partition: number }>,
        ) => {
          if (error) this.#retryCommits(offsets, error);
        },
      },
      { 'auto.offset.reset': 'earliest' },
    ) as KafkaConsumer;
    this.#consumer = consumer;
    consumer.on('event.error', (error) => {
      if (!this.#closed) this.#ctx.onError(error);
    });
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())),
    );
    consumer.setDefaultConsumeTimeout(100);
    (
      consumer as KafkaConsumer & { setDefaultIsTimeoutOnlyForFirstMessage(on: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    // Ready once the group has given this member its partitions, so that it takes its share at once.
    const assigned = new Promise<void>((resolve) => {
      this.#assigned = resolve;
    });
    consumer.subscribe([subscription, this.#retryTopic]);
    this.#polling = this.#poll(consumer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      assigned,
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.#ctx.joinWait);
      }),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
  }

  /** Commits what is settled and leaves the group; unsettled deliveries go to the next owner. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopped = true;
    this.#flushCommits(true);
    this.#closed = true;
    await this.#disconnect();
  }

  /** Leaves as a crash would: nothing more is committed, unsettled deliveries go to the next owner. */
  async kill(): Promise<void> {
    this.#killed = true;
    this.#stopped = true;
    this.#closed = true;
    for (const state of this.#states.values()) state.revoked = true;
    await this.#disconnect();
  }

  async #disconnect(): Promise<void> {
    clearTimeout(this.#commitTimer);
    for (const timer of this.#held) clearTimeout(timer);
    this.#held.clear();
    const consumer = this.#consumer;
    if (!consumer) return;
    await this.#polling;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (const state of this.#states.values()) state.revoked = true;
    this.#states.clear();
  }

  /**
   * Fetches in batches, one call at a time, until closing. The client's
   * flowing mode is not used: disconnecting while it still has messages
   * on their way to JavaScript crashes the process.
   */
  async #poll(consumer: KafkaConsumer): Promise<void> {
    while (!this.#closed) {
      const messages = await new Promise<Message[]>((resolve) =>
        consumer.consume(BATCH, (error, batch) => {
          // Errors here are transient (a topic not there yet, a broker away): librdkafka retries.
          if (error && !this.#closed && !isTransient(error)) this.#ctx.onError(error);
          resolve(error ? [] : batch);
        }),
      );
      if (this.#closed) return;
      for (const message of messages) this.#onMessage(message);
    }
  }

  #rebalance(error: LibrdKafkaError, assignment: Array<{ topic: string; partition: number }>): void {
    const consumer = this.#consumer;
    if (!consumer) return;
    if (this.#closed) {
      // Disconnecting: what was settled is committed already; release at once, and nothing else on the closing handle.
      for (const state of this.#states.values()) state.revoked = true;
      try {
        if (error.code === REVOKE) consumer.unassign();
      } catch {
        // already gone
      }
      return;
    }
    if (error.code === ASSIGN) {
      void this.#assign(consumer, assignment).catch((e: unknown) => this.#ctx.onError(e));
    } else if (error.code === REVOKE) {
      void this.#revoke(consumer, assignment).catch((e: unknown) => this.#ctx.onError(e));
    } else {
      this.#ctx.onError(error);
    }
  }

  async #assign(
    consumer: KafkaConsumer,
    assignment: Array<{ topic: string; partition: number }>,
  ): Promise<void> {
    let committed: Array<{ topic: string; partition: number; offset?: number; metadata?: string | null }> =
      [];
    if (assignment.length > 0) {
      try {
        committed = await new Promise((resolve, reject) =>
          consumer.committed(assignment, 10_000, (err, partitions) =>
            err ? reject(err) : resolve(partitions),
          ),
        );
      } catch (error) {
        this.#ctx.onError(error);
        committed = assignment;
      }
    }
    if (this.#closed) return;
    const positions: Array<{ topic: string; partition: number; offset: number }> = [];
    const parked = new Map(this.#parked);
    this.#parked.clear();
    for (const tp of committed) {
      const key = id(tp.topic, tp.partition);
      const hasOffset = tp.offset !== undefined && tp.offset >= 0;
      const committedOffset = hasOffset ? (tp.offset as number) : -1;
      const previous = parked.get(key);
      parked.delete(key);
      // Back with this member, and nobody moved it on meanwhile: carry on, its commit may not have landed in the rebalance.
      if (previous && committedOffset <= previous.watermark) {
        previous.revoked = false;
        this.#states.set(key, previous);
        positions.push({ topic: tp.topic, partition: tp.partition, offset: previous.next });
        for (const deferred of previous.deferred.splice(0)) deferred.run();
        continue;
      }
      if (previous) this.#drop(previous);
      const state = new PartitionState<IncomingRecord>({
        topic: tp.topic,
        partition: tp.partition,
        start: Math.max(committedOffset, 0),
        carry: hasOffset ? parseCarry(tp.metadata) : undefined,
        orderKeys: tp.topic !== this.#retryTopic,
      });
      // A partition the group never committed starts at its beginning; with deliver 'new', older records are skipped.
      if (!hasOffset && this.#options.deliver === 'new' && tp.topic !== this.#retryTopic)
        state.skipBefore = this.#since;
      this.#states.set(key, state);
      positions.push({
        topic: tp.topic,
        partition: tp.partition,
        offset: hasOffset ? committedOffset : BEGINNING,
      });
    }
    for (const gone of parked.values()) this.#drop(gone);
    try {
      consumer.assign(positions);
    } catch (error) {
      this.#ctx.onError(error);
    }
    this.#scheduleCommit();
    if (positions.length > 0) this.#assigned?.();
    this.#pump();
  }

  async #revoke(
    consumer: KafkaConsumer,
    assignment: Array<{ topic: string; partition: number }>,
  ): Promise<void> {
    const states: Array<PartitionState<IncomingRecord>> = [];
    for (const tp of assignment) {
      const key = id(tp.topic, tp.partition);
      const state = this.#states.get(key);
      if (state) states.push(state);
    }
    if (!this.#killed && !this.#closed) {
      // Give the handlers a moment to finish, so their work is not done twice by the next owner.
      const deadline = Date.now() + this.#ctx.revokeWait;
      while (states.some((s) => s.inFlight > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    if (!this.#killed) {
      const commits = states.map((s) => s.commit()).filter((c) => c !== undefined);
      if (commits.length > 0) {
        try {
          consumer.commitSync(commits);
        } catch (error) {
          if (!this.#closed) this.#ctx.onError(error);
        }
      }
    }
    for (const state of states) {
      state.revoked = true;
      this.#states.delete(id(state.topic, state.partition));
      if (!this.#killed && !this.#closed) this.#parked.set(id(state.topic, state.partition), state);
    }
    try {
      consumer.unassign();
    } catch (error) {
      if (!this.#closed) this.#ctx.onError(error);
    }
  }

  /** Forgets a parked partition that went to another member: what it deferred is for the new owner now. */
  #drop(state: PartitionState<IncomingRecord>): void {
    state.dropped = true;
    for (const deferred of state.deferred.splice(0)) deferred.drop();
  }

  #onMessage(message: Message): void {
    const key = id(message.topic, message.partition);
    const state = this.#states.get(key);
    if (!state || state.revoked) return;
    this.#accept(state, message);
    this.#pump();
  }

  #accept(state: PartitionState<IncomingRecord>, message: Message): void {
    let subject = this.#subjects.get(message.topic);
    if (subject === undefined) {
      subject =
        message.topic === this.#retryTopic
          ? this.#options.subject
          : (topicToSubject(message.topic, this.#ctx.topicPrefix) ?? message.topic);
      this.#subjects.set(message.topic, subject);
    }
    const incoming = fromRecord(
      {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        value: message.value,
        key: message.key ?? null,
        timestamp: message.timestamp,
        headers: message.headers,
      },
      subject,
    );
    const pending: Slot = { offset: message.offset, key: incoming.message.key, record: incoming };
    // Published before this new group subscribed: not for `deliver: 'new'`.
    const old =
      state.skipBefore !== undefined && (message.timestamp ?? incoming.message.time) < state.skipBefore;
    if (state.add(pending, old) && old) this.#scheduleCommit();
  }

  /** Hands out records while there is credit, partitions taken in turn. */
  #pump(): void {
    if (this.#stopped) return;
    const states = [...this.#states.values()];
    let progress = true;
    while (progress && this.#inFlight < this.#options.maxInFlight) {
      progress = false;
      for (let i = 0; i < states.length && this.#inFlight < this.#options.maxInFlight; i++) {
        const state = states[(this.#rotation + i) % states.length] as PartitionState<IncomingRecord>;
        if (state.revoked) continue;
        const pending = state.take();
        if (!pending) continue;
        progress = true;
        this.#handOut(state, pending);
      }
      this.#rotation++;
    }
    this.#flowControl();
  }

  #flowControl(): void {
    const consumer = this.#consumer;
    if (!consumer || this.#closed) return;
    let buffered = 0;
    for (const state of this.#states.values()) buffered += state.buffered;
    const limit = Math.max(1000, this.#options.maxInFlight * BUFFER_FACTOR);
    try {
      if (!this.#paused && buffered >= limit) {
        consumer.pause(consumer.assignments());
        this.#paused = true;
      } else if (this.#paused && buffered < limit / 2) {
        consumer.resume(consumer.assignments());
        this.#paused = false;
      }
    } catch (error) {
      this.#ctx.onError(error);
    }
  }

  #handOut(state: PartitionState<IncomingRecord>, pending: Slot): void {
    const { record } = pending;
    const due = record.retry?.due ?? 0;
    const wait = due - Date.now();
    this.#inFlight++;
    state.inFlight++;
    if (wait > 0) {
      // A retry that is not due yet: hold it, uncommitted, so a crash loses nothing.
      const timer = setTimeout(() => {
        this.#held.delete(timer);
        this.#deliver(state, pending);
      }, wait);
      this.#held.add(timer);
      return;
    }
    this.#deliver(state, pending);
  }

  #deliver(state: PartitionState<IncomingRecord>, pending: Slot, again?: number): void {
    const { record } = pending;
    const attempt = again ?? Math.max(record.retry?.attempts ?? 0, state.earlierAttempts(pending.offset)) + 1;
    this.#scheduleCommit(); // records the hand-out in the commit metadata
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      clearTimeout(timer);
      state.inFlight--;
      this.#inFlight--;
    };
    // Hands the same record out again from here, its offset still uncommitted, so a crash loses nothing.
    const redeliver = (delay: number): void => {
      const retry = setTimeout(() => {
        this.#held.delete(retry);
        if (this.#closed) return;
        const again = (): void => {
          this.#inFlight++;
          state.inFlight++;
          this.#deliver(state, pending, attempt + 1);
        };
        if (state.revoked && !state.dropped) state.deferred.push({ run: again, drop: () => undefined });
        else if (!state.revoked) again();
      }, delay);
      this.#held.add(retry);
    };
    const armAckWait = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (settled) return;
        settled = true; // the late settle of this delivery is ignored
        release();
        redeliver(0);
        this.#pump();
      }, this.#options.ackWait);
    };
    armAckWait();
    const settle = async (action: () => Promise<void>): Promise<void> => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (state.revoked && !state.dropped && !this.#killed && !this.#closed) {
        // Revoked: if this member gets the partition back the settle counts then; if another does, it delivers again.
        state.deferred.push({
          run: () => void settleNow(action),
          drop: () => {
            release();
            this.#pump();
          },
        });
        return;
      }
      await settleNow(action);
    };
    const settleNow = async (action: () => Promise<void>): Promise<void> => {
      try {
        if (!state.revoked && !this.#killed) await action();
        if (!state.revoked) {
          state.settle(pending);
          this.#scheduleCommit();
        }
      } finally {
        release();
        this.#pump();
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
            this.#ctx.retry(this.#retryTopic, record, attempt, Date.now() + Math.max(0, delay)),
          );
          return;
        }
        if (settled) return;
        settled = true;
        release();
        redeliver(Math.max(0, delay));
        this.#pump();
      },
      deadLetter: (error) =>
        settle(() =>
          this.#ctx.deadLetter({
            incoming: record,
            group: this.#options.group,
            pattern: this.#options.subject,
            error,
            attempts: attempt,
          }),
        ),
      touch: () => {
        if (!settled) armAckWait();
      },
    };
    try {
      this.#onDelivery(delivery);
    } catch (error) {
      this.#ctx.onError(error);
    }
  }

  #scheduleCommit(): void {
    if (this.#commitTimer || this.#killed || this.#closed) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.#flushCommits();
    }, COMMIT_INTERVAL);
  }

  /** Marks partitions whose commit failed as needing one again, and schedules it. */
  #retryCommits(offsets: ReadonlyArray<{ topic: string; partition: number }>, error: unknown): void {
    if (this.#killed) return;
    for (const tp of offsets) this.#states.get(id(tp.topic, tp.partition))?.forget();
    if (this.#closed) {
      this.#ctx.onError(error);
      return;
    }
    clearTimeout(this.#commitTimer);
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.#flushCommits();
    }, 50);
  }

  #flushCommits(sync = false): void {
    const consumer = this.#consumer;
    if (!consumer || this.#killed || this.#closed) return;
    const commits = [...this.#states.values()]
      .filter((s) => !s.revoked)
      .map((s) => s.commit())
      .filter((c) => c !== undefined);
    if (commits.length === 0) return;
    try {
      if (sync) consumer.commitSync(commits);
      else consumer.commit(commits);
    } catch (error) {
      // Usually a rebalance in progress: try again shortly; the watermark only moves forward.
      this.#retryCommits(commits, error);
    }
  }
}

function id(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
