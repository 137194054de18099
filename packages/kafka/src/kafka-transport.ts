/**
 * The Kafka transport (`kafka://host:port`): subjects are topics (see
 * `topic-names.ts`), a Courier group is the Kafka consumer group
 * `<group>:<pattern>`, keys are record keys, a publish resolves on the
 * broker's ack with `acks=all` (idempotent producer). Retries and dead
 * letters live on Courier's own topics per group. Request-reply is not
 * offered: see `docs/engines/kafka.md` for why.
 */
import type { Producer } from '@confluentinc/kafka-javascript';
import {
  assertSize,
  type Capabilities,
  type ConsumeOptions,
  type Consumer,
  CourierError,
  type Delivery,
  type RawMessage,
  type Reply,
  type Responder,
  type Transport,
} from '@courier/core';
import { KafkaDeadLetterStore } from './dead-letter-store.js';
import { GroupMember } from './group-member.js';
import type { MemberContext } from './member-context.js';
import { type Kafka, kafkaLibrary } from './native.js';
import { type OutgoingRecord, toRecord } from './record.js';
import { subjectToTopic } from './topic-names.js';

/** Options of {@link kafkaTransport}. Durations are in milliseconds. */
export interface KafkaTransportOptions {
  /** Bootstrap brokers, `host:port` each. */
  brokers: readonly string[];
  /** Prepended to every topic Courier uses, to share a cluster between applications. Default none. */
  topicPrefix?: string;
  /** The largest message accepted, as counted by `messageSize`. Default 1,000,000 (Kafka's default limit, less headroom for headers). */
  maxPayload?: number;
  /** The consumer group session timeout: how long a silent member keeps its partitions. Default 45 s. */
  sessionTimeout?: number;
  /** How often members heartbeat. Default 3 s (a third of the session timeout at most). */
  heartbeatInterval?: number;
  /** How often consumers look for new topics matching a pattern subscription. Default 5 s. */
  metadataRefresh?: number;
  /** How long a member waits for deliveries of a revoked partition to settle before giving it up. Default 5 s. */
  revokeWait?: number;
  /** `client.id` seen by the brokers. Default `courier`. */
  clientId?: string;
  /** Extra librdkafka settings (security, SASL, tuning), applied to every client. */
  config?: Readonly<Record<string, string | number | boolean>>;
  /** Called with errors that have no caller to reject (failed commits, broker errors). Default: ignored. */
  onError?: (error: unknown) => void;
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

/** A connection to a Kafka cluster. */
export class KafkaTransport implements Transport {
  readonly engine = 'kafka';
  readonly capabilities: Readonly<Capabilities>;
  readonly deadLetters: KafkaDeadLetterStore;
  readonly #kafka: Kafka;
  readonly #options: KafkaTransportOptions;
  readonly #config: Record<string, string | number | boolean>;
  readonly #prefix: string;
  readonly #pending = new Map<number, Pending>();
  readonly #members = new Set<GroupMember>();
  #producer: Producer | undefined;
  #sequence = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: KafkaTransportOptions) {
    if (options.brokers.length === 0)
      throw new CourierError('INVALID_OPTION', 'kafka: give at least one broker (host:port)');
    this.#kafka = kafkaLibrary();
    this.#options = options;
    this.#prefix = options.topicPrefix ?? '';
    const session = options.sessionTimeout ?? 45_000;
    this.#config = {
      'bootstrap.servers': options.brokers.join(','),
      'client.id': options.clientId ?? 'courier',
      'session.timeout.ms': session,
      'heartbeat.interval.ms': options.heartbeatInterval ?? Math.min(3000, Math.floor(session / 3)),
      log_level: 3,
      ...options.config,
    };
    this.capabilities = Object.freeze({
      durable: true,
      replay: true,
      keyOrdering: true,
      delay: false,
      nackDelay: true,
      dedup: false,
      request: false,
      deadLetter: true,
      maxPayload: options.maxPayload ?? 1_000_000,
    });
    this.deadLetters = new KafkaDeadLetterStore({
      kafka: this.#kafka,
      config: this.#config,
      topicPrefix: this.#prefix,
      produce: (topic, partition, record) => this.#produce(topic, partition, record),
      watermarks: (topic, partition) => this.#watermarks(topic, partition),
    });
  }

  /** Connects the producer. */
  async connect(): Promise<void> {
    const producer = new this.#kafka.Producer({
      ...this.#config,
      acks: -1,
      'enable.idempotence': true,
      dr_cb: true,
      // Java clients' partitioner: a key lands on the same partition whichever client wrote it.
      partitioner: 'murmur2_random',
      'linger.ms': 5,
      // Spread unkeyed messages over partitions one by one, so every member gets a share.
      'sticky.partitioning.linger.ms': 0,
      'message.max.bytes': Math.max(1_048_576, this.capabilities.maxPayload + 65_536),
    });
    producer.on('delivery-report', (error, report) => {
      const pending = this.#pending.get(report.opaque as number);
      if (!pending) return;
      this.#pending.delete(report.opaque as number);
      if (error) pending.reject(publishError(error));
      else pending.resolve();
    });
    producer.on('event.error', (error) => this.#options.onError?.(error));
    await new Promise<void>((resolve, reject) =>
      producer.connect({ timeout: 10_000 }, (error) =>
        error
          ? reject(
              new CourierError(
                'CONNECTION_CLOSED',
                `could not reach Kafka at ${this.#config['bootstrap.servers']}: ${error.message}`,
                { cause: error },
              ),
            )
          : resolve(),
      ),
    );
    producer.setPollInBackground(true);
    this.#producer = producer;
  }

  #open(): Producer {
    if (this.#closed || !this.#producer)
      throw new CourierError('CONNECTION_CLOSED', 'the kafka transport is closed');
    return this.#producer;
  }

  async publish(message: RawMessage): Promise<void> {
    this.#open();
    assertSize(message, this.capabilities.maxPayload, this.engine);
    await this.#produce(subjectToTopic(message.subject, this.#prefix), null, toRecord(message));
  }

  #produce(topic: string, partition: number | null, record: OutgoingRecord): Promise<void> {
    let producer: Producer;
    try {
      producer = this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    const sequence = ++this.#sequence;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(sequence, { resolve, reject });
      try {
        producer.produce(
          topic,
          partition,
          record.value,
          record.key,
          record.timestamp,
          sequence,
          record.headers,
        );
      } catch (error) {
        this.#pending.delete(sequence);
        reject(publishError(error));
      }
    });
  }

  #ensureTopic(topic: string): Promise<void> {
    const producer = this.#open();
    return new Promise((resolve) => producer.getMetadata({ topic, timeout: 5000 }, () => resolve()));
  }

  #watermarks(topic: string, partition: number): Promise<{ low: number; high: number }> {
    const producer = this.#open();
    return new Promise((resolve) =>
      producer.queryWatermarkOffsets(topic, partition, 5000, (error, offsets) =>
        resolve(error ? { low: 0, high: 0 } : { low: offsets.lowOffset, high: offsets.highOffset }),
      ),
    );
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#open();
    const ctx: MemberContext = {
      kafka: this.#kafka,
      config: this.#config,
      topicPrefix: this.#prefix,
      metadataRefresh: this.#options.metadataRefresh ?? 5000,
      revokeWait: this.#options.revokeWait ?? 5000,
      joinWait: Math.min(2 * (this.#options.sessionTimeout ?? 45_000), 15_000),
      ensureTopic: (topic) => this.#ensureTopic(topic),
      retry: (topic, incoming, attempts, due) =>
        this.#produce(topic, null, toRecord(incoming.message, { attempts, due })),
      deadLetter: (entry) => this.deadLetters.add(entry),
      onError: (error) => this.#options.onError?.(error),
    };
    const member = new GroupMember(ctx, options, onDelivery);
    this.#members.add(member);
    try {
      await member.start();
    } catch (error) {
      this.#members.delete(member);
      await member.kill().catch(() => undefined);
      throw new CourierError(
        'CONNECTION_CLOSED',
        `could not join Kafka group ${options.group}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    return {
      stop: () => member.stop(),
      close: async () => {
        this.#members.delete(member);
        await member.close();
      },
    };
  }

  async request(message: RawMessage): Promise<Reply> {
    throw unsupportedRequest(message.subject);
  }

  async serve(subject: string): Promise<Responder> {
    throw unsupportedRequest(subject);
  }

  /** Closes members (committing what they settled), waits for publishes, then disconnects. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown(false);
    return this.#closing;
  }

  /**
   * Drops the connection as a crashed process would: nothing more is
   * committed, members leave their groups with their deliveries unsettled
   * (the next owner gets them), unconfirmed publishes fail.
   */
  kill(): Promise<void> {
    this.#closing ??= this.#shutdown(true);
    return this.#closing;
  }

  async #shutdown(crash: boolean): Promise<void> {
    const producer = this.#producer;
    this.#closed = true;
    const members = [...this.#members];
    this.#members.clear();
    await Promise.all(members.map((m) => (crash ? m.kill() : m.close()).catch(() => undefined)));
    if (producer && !crash) {
      await new Promise<void>((resolve) => producer.flush(10_000, () => resolve()));
    }
    for (const pending of this.#pending.values()) {
      pending.reject(
        new CourierError('CONNECTION_CLOSED', 'the kafka transport closed before the broker confirmed'),
      );
    }
    this.#pending.clear();
    await this.deadLetters.close().catch(() => undefined);
    if (producer) await new Promise<void>((resolve) => producer.disconnect(5000, () => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function unsupportedRequest(subject: string): CourierError {
  return new CourierError(
    'UNSUPPORTED',
    `request-reply on ${subject} needs the request capability, which the kafka transport does not offer: Kafka cannot tell at once that nobody serves a subject, and a consumer-group rebalance stalls replies for seconds; connect a second bus on nats://, courier:// or amqp:// for requests`,
    { data: { capability: 'request', engine: 'kafka' } },
  );
}

function publishError(error: unknown): CourierError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  // librdkafka: 10 = MSG_SIZE_TOO_LARGE (broker), -186 = local message size limit.
  if (code === 10 || code === -186) {
    return new CourierError(
      'PAYLOAD_TOO_LARGE',
      `the Kafka cluster refused the message as too large: ${message}; raise the topic's max.message.bytes or send a reference`,
      { cause: error },
    );
  }
  return new CourierError('CONNECTION_CLOSED', `Kafka did not confirm the publish: ${message}`, {
    cause: error,
    retryable: true,
  });
}

/** Connects a Kafka transport. */
export async function kafkaTransport(options: KafkaTransportOptions): Promise<KafkaTransport> {
  const transport = new KafkaTransport(options);
  await transport.connect();
  return transport;
}

function numberParam(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new CourierError(
      'INVALID_URL',
      `${name}=${value} in ${url.href} must be a positive number of milliseconds`,
    );
  }
  return parsed;
}

/**
 * `kafka://host:port?brokers=host2:port2,…&topicPrefix=…&sessionTimeout=…`:
 * the transport for `connect(url)`. `options` are {@link KafkaTransportOptions}
 * and win over the URL.
 */
export async function createTransport(url: URL, options: Record<string, unknown>): Promise<KafkaTransport> {
  const brokers = [url.host, ...(url.searchParams.get('brokers')?.split(',') ?? [])].filter((b) => b !== '');
  if (brokers.length === 0) {
    throw new CourierError('INVALID_URL', `${url.href} names no broker; use kafka://host:9092`);
  }
  const fromUrl: KafkaTransportOptions = { brokers: brokers.map((b) => (b.includes(':') ? b : `${b}:9092`)) };
  const prefix = url.searchParams.get('topicPrefix');
  if (prefix !== null) fromUrl.topicPrefix = prefix;
  const clientId = url.searchParams.get('clientId');
  if (clientId !== null) fromUrl.clientId = clientId;
  for (const name of [
    'sessionTimeout',
    'heartbeatInterval',
    'metadataRefresh',
    'revokeWait',
    'maxPayload',
  ] as const) {
    const value = numberParam(url, name);
    if (value !== undefined) fromUrl[name] = value;
  }
  return kafkaTransport({ ...fromUrl, ...(options as Partial<KafkaTransportOptions>) });
}
