/**
 * The AMQP 1.0 transport: publishes, group members and dead letters over
 * one rhea connection, with addresses and capabilities from the broker's
 * profile (see `broker-profile.ts`). Request-reply is not offered: AMQP 1.0
 * gives no portable way to learn that a subject has no responder, which
 * `NO_RESPONDERS` needs, so the Bus refuses it with `UNSUPPORTED`.
 */
import { randomUUID } from 'node:crypto';
import {
  assertSize,
  type Capabilities,
  type ConsumeOptions,
  type Consumer,
  CourierError,
  type DeadLetterStore,
  type Delivery,
  type RawMessage,
  type Reply,
  type Responder,
  type Transport,
} from '@courier/core';
import { AmqpConnection } from './amqp-connection.js';
import { toAmqp } from './amqp-message.js';
import { attachMember } from './amqp10-consumer.js';
import {
  type BrokerKind,
  type BrokerProfile,
  bindingKey,
  brokerProfile,
  detectKind,
} from './broker-profile.js';
import { amqpDeadLetterStore } from './dead-letter-store.js';
import { RabbitmqTopology } from './rabbitmq-topology.js';

/** Options of {@link amqp10Transport}. */
export interface Amqp10TransportOptions {
  /** Broker host. Default `127.0.0.1`. */
  host?: string;
  /** Broker port. Default 5672 (5671 with TLS). */
  port?: number;
  username?: string;
  password?: string;
  /** RabbitMQ virtual host, for the topology side connection. Default `/`. */
  vhost?: string;
  /** Connect with TLS (`amqps10://`). */
  tls?: boolean;
  /** The broker profile; by default detected from the server's `product` (RabbitMQ) or `queues`. */
  broker?: BrokerKind;
  /** Prefix of every queue Courier names. Default `courier`. */
  prefix?: string;
  /** The topic exchange publishes go to on RabbitMQ. Default `courier.amqp10`. */
  exchange?: string;
  /** Largest message in bytes (as `messageSize` counts). Default 1 MiB. */
  maxPayload?: number;
  /** How long to wait for the connection to open, in ms. Default 10,000. */
  connectTimeout?: number;
  /** How long a publish waits for the broker's outcome, in ms. Default 30,000. */
  publishTimeout?: number;
}

/** A connection to an AMQP 1.0 broker. */
export class Amqp10Transport implements Transport {
  readonly engine = 'amqp10';
  readonly capabilities: Readonly<Capabilities>;
  readonly deadLetters: DeadLetterStore;
  /** The profile in use: `rabbitmq` or `queues`. */
  readonly profile: BrokerProfile;
  readonly #connection: AmqpConnection;
  readonly #topology: RabbitmqTopology | undefined;
  readonly #consumers = new Set<Consumer>();
  readonly #publishTimeout: number;
  #closed = false;

  private constructor(
    connection: AmqpConnection,
    profile: BrokerProfile,
    topology: RabbitmqTopology | undefined,
    publishTimeout: number,
  ) {
    this.#connection = connection;
    this.profile = profile;
    this.capabilities = profile.capabilities;
    this.#topology = topology;
    this.#publishTimeout = publishTimeout;
    this.deadLetters = amqpDeadLetterStore({ connection, profile, timeout: 10_000 });
  }

  /** Connects, detects the broker and returns the transport. */
  static async connect(options: Amqp10TransportOptions = {}): Promise<Amqp10Transport> {
    const tls = options.tls ?? false;
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? (tls ? 5671 : 5672);
    const connection = await AmqpConnection.open({
      host,
      port,
      tls,
      containerId: `courier-${randomUUID()}`,
      connectTimeout: options.connectTimeout ?? 10_000,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
    });
    const kind = options.broker ?? detectKind(connection.serverProperties);
    const exchange = options.exchange ?? 'courier.amqp10';
    const profile = brokerProfile(kind, {
      prefix: options.prefix ?? 'courier',
      exchange,
      maxPayload: options.maxPayload ?? 1024 * 1024,
    });
    let topology: RabbitmqTopology | undefined;
    if (kind === 'rabbitmq') {
      topology = new RabbitmqTopology({
        host,
        port,
        tls,
        exchange,
        username: options.username ?? 'guest',
        password: options.password ?? 'guest',
        vhost: options.vhost ?? '/',
      });
    }
    return new Amqp10Transport(connection, profile, topology, options.publishTimeout ?? 30_000);
  }

  #open(): void {
    if (this.#closed) throw new CourierError('CONNECTION_CLOSED', 'the amqp10 transport is closed');
  }

  async publish(message: RawMessage): Promise<void> {
    this.#open();
    assertSize(message, this.capabilities.maxPayload, this.engine);
    if (this.profile.kind === 'rabbitmq') {
      if (Buffer.byteLength(message.subject) > 255) {
        throw new CourierError(
          'INVALID_SUBJECT',
          `subject ${message.subject.slice(0, 40)}... is longer than RabbitMQ's 255-byte routing key; use a shorter subject`,
        );
      }
      // The exchange must exist before the plugin accepts a link to it.
      await this.#topology?.ensureExchange();
    }
    await this.#connection.send(
      this.profile.publishAddress(message.subject),
      toAmqp(message),
      this.#publishTimeout,
    );
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#open();
    if (options.deliver === 'all') {
      throw new CourierError(
        'UNSUPPORTED',
        `deliver: 'all' needs replay, which AMQP 1.0 queues do not offer: a new group's queue starts empty`,
      );
    }
    this.profile.assertPattern(options.subject);
    const queue = this.profile.groupQueue(options.group, options.subject, options.durable);
    await this.#topology?.ensureGroup(queue, bindingKey(options.subject), options.durable);
    let consumer: Consumer | undefined;
    consumer = await attachMember({
      connection: this.#connection,
      profile: this.profile,
      options,
      queue,
      onDelivery,
      onClosed: () => {
        if (consumer) this.#consumers.delete(consumer);
      },
    });
    this.#consumers.add(consumer);
    return consumer;
  }

  async request(message: RawMessage): Promise<Reply> {
    throw new CourierError(
      'UNSUPPORTED',
      `request to ${message.subject}: the amqp10 transport has no request-reply (AMQP 1.0 cannot tell that a subject has no responder); use another engine for RPC`,
    );
  }

  async serve(subject: string): Promise<Responder> {
    throw new CourierError(
      'UNSUPPORTED',
      `handle ${subject}: the amqp10 transport has no request-reply; use another engine for RPC`,
    );
  }

  /**
   * Drops the connection at once, as a crashed process would: no settling,
   * no goodbye, no reconnect. The broker returns the unsettled deliveries
   * (where it keeps any). For fault tests.
   */
  kill(): void {
    this.#closed = true;
    this.#connection.kill();
    void this.#topology?.close();
  }

  /** Closes members (their unsettled deliveries go back to the queues) and the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) {
      await this.#connection.close();
      return;
    }
    this.#closed = true;
    await Promise.allSettled([...this.#consumers].map((c) => c.close()));
    await this.#connection.close();
    await this.#topology?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Connects an AMQP 1.0 transport; see {@link Amqp10TransportOptions}. */
export function amqp10Transport(options: Amqp10TransportOptions = {}): Promise<Amqp10Transport> {
  return Amqp10Transport.connect(options);
}
