/**
 * The RabbitMQ transport: Courier's Transport SPI over AMQP 0-9-1 with
 * amqplib. Publishes go to a durable topic exchange with the subject as
 * routing key, confirmed and persistent; each (group, subject) pair is a
 * durable quorum queue bound to it; private subscriptions are auto-delete
 * queues; retries and delayed messages wait in TTL queues that dead-letter
 * them onward; dead letters go to a queue per group; requests use direct
 * reply-to. See docs/engines/rabbitmq.md for the mapping and its limits.
 */
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
import { bounded } from '@courier/core/internal';
import { AmqpConnection, connectError } from './amqp-connection.js';
import type { ConsumerChannel } from './consumer-channel.js';
import { AmqpDeadLetterStore } from './dead-letter-store.js';
import { Declarations } from './declarations.js';
import { GroupConsumer } from './group-consumer.js';
import { encodeMessage, H } from './message-codec.js';
import { Publisher } from './publisher.js';
import { RpcClient } from './rpc-client.js';
import { RpcResponder } from './rpc-responder.js';
import {
  assertRoutable,
  bindingKey,
  delayBucket,
  type ExchangeNames,
  exchangeNames,
  groupQueue,
  rpcQueue,
  waitQueue,
} from './topology.js';
import { type AmqpTransportOptions, resolveOptions } from './transport-options.js';

/** A connection to RabbitMQ as a Courier transport. */
export class AmqpTransport implements Transport {
  readonly engine = 'rabbitmq';
  readonly capabilities: Readonly<Capabilities>;
  readonly deadLetters: AmqpDeadLetterStore;
  /** The exchanges of this transport's namespace. */
  readonly exchanges: ExchangeNames;
  readonly namespace: string;
  readonly #connection: AmqpConnection;
  readonly #declarations: Declarations;
  readonly #publisher: Publisher;
  readonly #rpc: RpcClient;
  readonly #requestPrefetch: number;
  readonly #open = new Set<{ close(): Promise<void> }>();
  #closing: Promise<void> | undefined;

  private constructor(url: URL, options: AmqpTransportOptions) {
    const resolved = resolveOptions(url, options);
    this.namespace = resolved.namespace;
    this.exchanges = exchangeNames(resolved.namespace);
    this.#requestPrefetch = resolved.requestPrefetch;
    this.capabilities = Object.freeze({
      durable: true,
      replay: false,
      keyOrdering: false,
      delay: true,
      nackDelay: true,
      dedup: false,
      request: true,
      deadLetter: true,
      maxPayload: resolved.maxPayload,
    });
    this.#declarations = new Declarations(resolved.namespace, this.exchanges);
    this.#connection = new AmqpConnection({
      url: resolved.url,
      socket: resolved.socket,
      initialDelay: resolved.reconnect.initialDelay,
      maxDelay: resolved.reconnect.maxDelay,
      setup: (link) => this.#declarations.exchanges(link),
    });
    this.#publisher = new Publisher(this.#connection);
    this.#rpc = new RpcClient(this.#connection, this.exchanges.rpc);
    this.#connection.add(this.#publisher);
    this.#connection.add(this.#rpc);
    this.deadLetters = new AmqpDeadLetterStore({
      connection: this.#connection,
      publisher: this.#publisher,
      namespace: resolved.namespace,
    });
  }

  /**
   * Connects to RabbitMQ and declares the namespace's exchanges.
   * @throws CourierError `CONNECTION_CLOSED` when the broker cannot be reached, `UNAUTHORIZED` for bad credentials, `INVALID_OPTION`.
   */
  static async connect(url: URL, options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
    const transport = new AmqpTransport(url, options);
    try {
      await transport.#connection.open();
    } catch (error) {
      await transport.#connection.close();
      throw error instanceof CourierError
        ? error
        : connectError(error, `${url.hostname}:${url.port || '5672'}`);
    }
    return transport;
  }

  async publish(message: RawMessage): Promise<void> {
    this.#assertOpen();
    assertSize(message, this.capabilities.maxPayload, this.engine);
    assertRoutable(message.subject);
    const wait = message.deliverAt === undefined ? 0 : message.deliverAt - Date.now();
    if (wait <= 0) {
      const { content, options } = encodeMessage(message, undefined, false);
      await this.#publisher.publish({
        exchange: this.exchanges.events,
        routingKey: message.subject,
        content,
        options,
      });
      return;
    }
    // Held by RabbitMQ: a TTL queue for the delay's bucket dead-letters it to the events exchange.
    const bucket = delayBucket(wait);
    for (let tries = 0; ; tries++) {
      const link = await this.#connection.whenUp();
      const queue = await this.#declarations.waitQueue(link, 'delay', bucket);
      const { content, options } = encodeMessage(
        message,
        { [H.stage]: 'delay', [H.bucket]: String(bucket) },
        false,
      );
      const { returned } = await this.#publisher.publish({
        exchange: this.exchanges.wait,
        routingKey: message.subject,
        content,
        options,
        mandatory: true,
      });
      if (!returned) return;
      this.#declarations.forget(queue);
      if (tries >= 2)
        throw new CourierError(
          'INTERNAL',
          `the delay queue ${waitQueue(this.namespace, 'delay', bucket)} keeps refusing messages`,
        );
    }
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#assertOpen();
    if (options.deliver === 'all') {
      throw new CourierError(
        'UNSUPPORTED',
        "deliver: 'all' needs the replay capability, which RabbitMQ queues lack: a queue holds only what was published after it was bound",
        { data: { capability: 'replay', engine: this.engine } },
      );
    }
    const consumer = new GroupConsumer({
      connection: this.#connection,
      publisher: this.#publisher,
      declarations: this.#declarations,
      exchanges: this.exchanges,
      retryPrefix: `${this.namespace}.retry.`,
      queue: groupQueue(this.namespace, options.group, options.subject),
      bindingKey: bindingKey(options.subject),
      group: options.group,
      pattern: options.subject,
      durable: options.durable,
      maxInFlight: options.maxInFlight,
      ackWait: options.ackWait,
      onDelivery,
    });
    await this.#attach(consumer.consumerChannel);
    return this.#track(consumer);
  }

  async request(message: RawMessage, options: { timeout: number }): Promise<Reply> {
    this.#assertOpen();
    assertSize(message, this.capabilities.maxPayload, this.engine);
    assertRoutable(message.subject);
    return this.#rpc.request(message, options.timeout);
  }

  async serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    this.#assertOpen();
    const responder = new RpcResponder({
      connection: this.#connection,
      exchange: this.exchanges.rpc,
      queue: rpcQueue(this.namespace, subject),
      bindingKey: bindingKey(subject),
      prefetch: this.#requestPrefetch,
      handler,
    });
    await this.#attach(responder.consumerChannel);
    return this.#track(responder);
  }

  /** Closes the connection: unsettled deliveries go back to their queues; unconfirmed publishes and waiting requests fail with `CONNECTION_CLOSED`. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A broker that stops answering must not hold close() forever: the connection's close ends it all.
      await bounded(Promise.allSettled([...this.#open].map((item) => item.close())), CLOSE_WAIT, undefined);
      this.#publisher.close();
      this.#rpc.close();
      await bounded(this.#connection.close(), CLOSE_WAIT, undefined);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Starts a member on the live link (waiting for a reconnect if needed), then keeps it attached across reconnects. */
  async #attach(member: ConsumerChannel): Promise<void> {
    for (;;) {
      const link = await this.#connection.whenUp();
      try {
        await member.open(link);
      } catch (error) {
        // The connection dropped meanwhile: start again on the next link. Anything else is the caller's to see.
        if (this.#connection.link !== link && !this.#connection.closed) continue;
        throw error instanceof CourierError ? error : declareError(error);
      }
      this.#connection.add(member);
      // A reconnect between start and add: attach to the newer link.
      const current = this.#connection.link;
      if (current && current !== link) void member.attach(current);
      return;
    }
  }

  #track<T extends { close(): Promise<void> }>(item: T): T {
    this.#open.add(item);
    const close = item.close.bind(item);
    item.close = async () => {
      this.#open.delete(item);
      await close();
    };
    return item;
  }

  #assertOpen(): void {
    if (this.#closing || this.#connection.closed) {
      throw new CourierError(
        'CONNECTION_CLOSED',
        'the RabbitMQ transport is closed; connect again to use it',
      );
    }
  }
}

// How long close() waits for channels and the connection to close cleanly.
const CLOSE_WAIT = 5000;

function declareError(error: unknown): CourierError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (code === 403) return new CourierError('UNAUTHORIZED', `RabbitMQ refused: ${message}`, { cause: error });
  if (code === 406) {
    return new CourierError(
      'INVALID_OPTION',
      `RabbitMQ refused the declaration: ${message}; a queue or exchange of that name exists with other settings`,
      { cause: error },
    );
  }
  return new CourierError('CONNECTION_CLOSED', `RabbitMQ failed the operation: ${message}`, { cause: error });
}
