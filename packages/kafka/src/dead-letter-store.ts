/**
 * Dead letters on Kafka: each group has a dead-letter topic
 * (`__courier.dlq.<group>`, one partition used, so entries keep their
 * order). An entry is the message as a record, plus the dead-letter fields
 * (group, pattern, error, attempts, time) in the shared format of
 * `@courier/core`, under the names of {@link DeadLetterHeader}. Kafka
 * cannot delete a record, so replay and purge append a removal marker
 * naming the ids they took; a listing reads the topic from its start and
 * leaves out what a later marker removed. Replay republishes the message
 * on the group's retry topic for that pattern, with attempts counted
 * afresh.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaConsumer, Message } from '@confluentinc/kafka-javascript';
import {
  CourierError,
  type DeadLetter,
  type DeadLetterHeaderNames,
  type DeadLetterStore,
  deadLetterFromHeaders,
  deadLetterHeaders,
  type WireError,
} from '@courier/core';
import type { Kafka } from './native.js';
import { fromRecord, type IncomingRecord, type RecordHeader, toRecord } from './record.js';
import { deadLetterTopic, retryTopic } from './topic-names.js';

/** How the store writes and reaches the cluster. */
export interface DeadLetterContext {
  readonly kafka: Kafka;
  readonly config: Record<string, string | number | boolean>;
  readonly topicPrefix: string;
  /** Produces a record and resolves on the broker's ack. */
  produce(topic: string, partition: number | null, record: ReturnType<typeof toRecord>): Promise<void>;
  /** The low and high watermarks of a partition. */
  watermarks(topic: string, partition: number): Promise<{ low: number; high: number }>;
}

/**
 * Header names of the dead-letter fields, written and read by
 * `deadLetterHeaders` of `@courier/core`. The `courier-` prefix is
 * reserved in records (see `record.ts`), so they never reach a message's
 * application headers.
 */
export const DeadLetterHeader = {
  group: 'courier-dlq-group',
  pattern: 'courier-dlq-pattern',
  error: 'courier-dlq-error',
  attempts: 'courier-dlq-attempts',
  time: 'courier-dlq-time',
} as const satisfies DeadLetterHeaderNames;

/** The header of a removal marker: the JSON array of the message ids it removes. Kafka's own, not a dead-letter field. */
const REMOVED = 'courier-dlq-removed';

/** What gets written for one dead letter. */
export interface DeadLetterInput {
  incoming: IncomingRecord;
  group: string;
  pattern: string;
  error: WireError;
  attempts: number;
}

function header(record: Message, name: string): string | undefined {
  for (const h of record.headers ?? []) {
    const value = h[name];
    if (value !== undefined) return typeof value === 'string' ? value : value.toString('utf8');
  }
  return undefined;
}

/** The dead letters of every group, kept on Kafka topics. */
export class KafkaDeadLetterStore implements DeadLetterStore {
  readonly #ctx: DeadLetterContext;
  #reader: KafkaConsumer | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DeadLetterContext) {
    this.#ctx = ctx;
  }

  /** Appends a dead letter to its group's topic. */
  async add(input: DeadLetterInput): Promise<void> {
    const record = toRecord(input.incoming.message);
    const fields = deadLetterHeaders(
      {
        group: input.group,
        pattern: input.pattern,
        error: input.error,
        attempts: input.attempts,
        time: Date.now(),
      },
      DeadLetterHeader,
    );
    const extra: RecordHeader[] = Object.entries(fields).map(([name, value]) => ({ [name]: value }));
    record.headers.push(...extra);
    await this.#ctx.produce(deadLetterTopic(input.group, this.#ctx.topicPrefix), 0, record);
  }

  async list(group: string, options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const entries = await this.#read(group);
    return options.limit === undefined ? entries : entries.slice(0, options.limit);
  }

  async replay(group: string, ids?: readonly string[]): Promise<number> {
    const taken = this.#select(await this.#read(group), ids);
    for (const entry of taken) {
      const record = toRecord(entry.message, { attempts: 0, due: 0 });
      await this.#ctx.produce(retryTopic(group, entry.pattern, this.#ctx.topicPrefix), null, record);
    }
    await this.#remove(group, taken);
    return taken.length;
  }

  async purge(group: string, ids?: readonly string[]): Promise<number> {
    const taken = this.#select(await this.#read(group), ids);
    await this.#remove(group, taken);
    return taken.length;
  }

  /** Closes the reader. */
  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) await new Promise<void>((resolve) => reader.disconnect(() => resolve()));
  }

  #select(entries: DeadLetter[], ids: readonly string[] | undefined): DeadLetter[] {
    if (ids === undefined) return entries;
    const wanted = new Set(ids);
    return entries.filter((e) => wanted.has(e.message.id));
  }

  async #remove(group: string, taken: DeadLetter[]): Promise<void> {
    if (taken.length === 0) return;
    await this.#ctx.produce(deadLetterTopic(group, this.#ctx.topicPrefix), 0, {
      value: Buffer.alloc(0),
      key: null,
      timestamp: Date.now(),
      headers: [{ [REMOVED]: JSON.stringify([...new Set(taken.map((e) => e.message.id))]) }],
    });
  }

  /** Reads a group's dead-letter topic from its start; one read at a time. */
  #read(group: string): Promise<DeadLetter[]> {
    const run = this.#queue.then(() => this.#readNow(group));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #readNow(group: string): Promise<DeadLetter[]> {
    const topic = deadLetterTopic(group, this.#ctx.topicPrefix);
    const { low, high } = await this.#ctx.watermarks(topic, 0);
    if (high <= low) return [];
    const reader = await this.#open();
    const records: Message[] = [];
    reader.assign([{ topic, partition: 0, offset: low }]);
    try {
      const deadline = Date.now() + 10_000;
      while ((records.at(-1)?.offset ?? low - 1) < high - 1) {
        if (Date.now() > deadline)
          throw new CourierError('TIMEOUT', `reading the dead letters of ${group} took over 10 s`);
        const batch = await new Promise<Message[]>((resolve, reject) =>
          reader.consume(500, (error, messages) => (error ? reject(error) : resolve(messages))),
        ).catch(() => [] as Message[]);
        for (const m of batch) if (m.offset < high) records.push(m);
      }
    } finally {
      reader.unassign();
    }
    let entries: DeadLetter[] = [];
    for (const record of records) {
      const removed = header(record, REMOVED);
      if (removed !== undefined) {
        const ids = new Set(JSON.parse(removed) as string[]);
        entries = entries.filter((e) => !ids.has(e.message.id));
        continue;
      }
      const { message } = fromRecord(record, '');
      const fields = deadLetterFromHeaders((name) => header(record, name), DeadLetterHeader, {
        group,
        pattern: message.subject,
        time: record.timestamp ?? 0,
      });
      // A hashed topic name is shared, should two long group names ever hash alike: keep this group's.
      if (fields.group !== group) continue;
      entries.push({ message, ...fields });
    }
    return entries;
  }

  async #open(): Promise<KafkaConsumer> {
    if (this.#reader) return this.#reader;
    // A consumer that only assigns partitions and never commits: it joins no group.
    const reader = new this.#ctx.kafka.KafkaConsumer(
      { ...this.#ctx.config, 'group.id': `__courier.reader.${randomUUID()}`, 'enable.auto.commit': false },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) =>
      reader.connect({ timeout: 10_000 }, (error) => (error ? reject(error) : resolve())),
    );
    reader.setDefaultConsumeTimeout(200);
    (
      reader as KafkaConsumer & { setDefaultIsTimeoutOnlyForFirstMessage(on: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.#reader = reader;
    return reader;
  }
}
