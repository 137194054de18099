/**
 * One member of a Courier group on Kafka: a consumer in the Kafka consumer
 * group `<group>:<pattern>`, subscribed to the subject's topic (or a regex
 * for a pattern) and to the group's retry topic. It hands records out with
 * credit, one at a time per key within a partition, and commits each
 * partition's watermark (see `partition-state.ts`) only after the handler's
 * ack. On a rebalance, a revoked partition stops handing out,
 * waits briefly for its deliveries to settle, commits, and is released;
 * deliveries still unsettled then go to the partition's next owner.
 *
 * This module is the consumer side: joining, the fetch loop, pausing and
 * resuming, rebalances and the choice of what to hand out next. What
 * happens to a record once handed out (ack wait, retry, dead letter) is in
 * `deliveries.ts`; the batching of commits in `commit-batcher.ts`.
 */
import type { KafkaConsumer as BaseConsumer, LibrdKafkaError, Message } from '@confluentinc/kafka-javascript';
import type { ConsumeOptions, Consumer, Delivery } from '@courier/core';
import { CommitBatcher } from './commit-batcher.js';
import { Deliveries, type Slot } from './deliveries.js';
import type { MemberContext } from './member-context.js';
import { PartitionState, parseCarry } from './partition-state.js';
import { fromRecord, type IncomingRecord } from './record.js';
import { patternToSubscription, retryTopic, topicToSubject } from './topic-names.js';

type KafkaConsumer = BaseConsumer;

const ASSIGN = -175;
/** librdkafka's logical offset for the start of a partition. */
const BEGINNING = -2;
const REVOKE = -174;
/** Records fetched per call. */
const BATCH = 100;

/** librdkafka errors that only mean "not yet": unknown topic or partition. */
function isTransient(error: LibrdKafkaError): boolean {
  return error.code === 3 || error.code === -188 || error.code === -185;
}

/** Pause fetching when this many records per in-flight slot are buffered. */
const BUFFER_FACTOR = 20;

/** A Courier group member backed by a Kafka consumer. */
export class GroupMember implements Consumer {
  readonly #ctx: MemberContext;
  readonly #options: ConsumeOptions;
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
  /** Records handed out and how they settle; also the credit in use. */
  readonly #deliveries: Deliveries;
  readonly #commits: CommitBatcher;
  #consumer: KafkaConsumer | undefined;
  #polling: Promise<void> = Promise.resolve();
  #assigned: (() => void) | undefined;
  #stopped = false;
  #closed = false;
  #killed = false;
  #paused = false;
  #rotation = 0;

  constructor(ctx: MemberContext, options: ConsumeOptions, onDelivery: (delivery: Delivery) => void) {
    this.#ctx = ctx;
    this.#options = options;
    this.#retryTopic = retryTopic(options.group, options.subject, ctx.topicPrefix);
    this.#deliveries = new Deliveries({
      ctx,
      options,
      retryTopic: this.#retryTopic,
      onDelivery,
      closed: () => this.#closed,
      killed: () => this.#killed,
      scheduleCommit: () => this.#commits.schedule(),
      pump: () => this.#pump(),
    });
    this.#commits = new CommitBatcher({
      consumer: () => this.#consumer,
      partitions: () => this.#states.values(),
      partition: (topic, partition) => this.#states.get(id(topic, partition)),
      closed: () => this.#closed,
      killed: () => this.#killed,
      onError: (error) => this.#ctx.onError(error),
    });
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
          if (error) this.#commits.failed(offsets, error);
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

  /** Stops handing records out; what is in flight still settles, and nothing is committed or left yet. */
  async stop(): Promise<void> {
    this.#stopped = true;
  }

  /** Commits what is settled and leaves the group; unsettled deliveries go to the next owner. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopped = true;
    this.#commits.flush(true);
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
    this.#commits.cancel();
    this.#deliveries.clear();
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
    this.#commits.schedule();
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
    if (state.add(pending, old) && old) this.#commits.schedule();
  }

  /** Hands out records while there is credit, partitions taken in turn. */
  #pump(): void {
    if (this.#stopped) return;
    const states = [...this.#states.values()];
    let progress = true;
    while (progress && this.#deliveries.inFlight < this.#options.maxInFlight) {
      progress = false;
      for (let i = 0; i < states.length && this.#deliveries.inFlight < this.#options.maxInFlight; i++) {
        const state = states[(this.#rotation + i) % states.length] as PartitionState<IncomingRecord>;
        if (state.revoked) continue;
        const pending = state.take();
        if (!pending) continue;
        progress = true;
        this.#deliveries.handOut(state, pending);
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
}

function id(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
