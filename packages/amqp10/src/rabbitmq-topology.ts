/**
 * RabbitMQ 3.x topology over AMQP 0-9-1. The AMQP 1.0 plugin of RabbitMQ 3.x
 * can address exchanges and queues but cannot bind a named durable queue to
 * an exchange (an `/exchange/X/KEY` source makes a private, generated queue),
 * so a durable group would lose what is published while no member is
 * attached. The transport therefore declares its exchange, group queues and
 * bindings with amqplib on the same host, port and credentials, and does all
 * messaging over AMQP 1.0. RabbitMQ 4 manages topology over AMQP 1.0 itself.
 */
import { CourierError } from '@courier/core';
import amqplib from 'amqplib';

/** Where the 0-9-1 side connection goes. */
export interface TopologySettings {
  host: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  tls: boolean;
  exchange: string;
}

type Channel = Awaited<ReturnType<Awaited<ReturnType<typeof amqplib.connect>>['createChannel']>>;
type Connection = Awaited<ReturnType<typeof amqplib.connect>>;

/** Declares exchanges, queues and bindings; reconnects lazily when its connection is gone. */
export class RabbitmqTopology {
  readonly #settings: TopologySettings;
  readonly #declared = new Set<string>();
  #channel: Promise<{ connection: Connection; channel: Channel }> | undefined;
  #closed = false;
  // The exchange is durable: once declared it outlives this side connection.
  #exchangeReady = false;

  constructor(settings: TopologySettings) {
    this.#settings = settings;
  }

  async #open(): Promise<Channel> {
    if (this.#closed) throw new CourierError('CONNECTION_CLOSED', 'the transport is closed');
    this.#channel ??= (async () => {
      const s = this.#settings;
      const url = `${s.tls ? 'amqps' : 'amqp'}://${encodeURIComponent(s.username)}:${encodeURIComponent(s.password)}@${s.host}:${s.port}/${encodeURIComponent(s.vhost)}`;
      const connection = await amqplib.connect(url);
      const forget = (): void => {
        this.#channel = undefined;
        this.#declared.clear();
      };
      connection.on('error', forget);
      connection.on('close', forget);
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      channel.on('close', forget);
      await channel.assertExchange(s.exchange, 'topic', { durable: true });
      return { connection, channel };
    })();
    try {
      return (await this.#channel).channel;
    } catch (error) {
      this.#channel = undefined;
      throw new CourierError(
        'CONNECTION_CLOSED',
        `could not declare Courier's RabbitMQ topology over AMQP 0-9-1 at ${this.#settings.host}:${this.#settings.port}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /** Declares the exchange publishes go to. */
  async ensureExchange(): Promise<void> {
    if (this.#exchangeReady) return;
    await this.#open();
    this.#exchangeReady = true;
  }

  /** Declares a group's queue and binds it to the exchange with `bindingKey`. */
  async ensureGroup(queue: string, bindingKey: string, durable: boolean): Promise<void> {
    const id = `${queue}\u0000${bindingKey}`;
    if (this.#declared.has(id)) return;
    const channel = await this.#open();
    await channel.assertQueue(
      queue,
      durable
        ? { durable: true }
        : { durable: false, autoDelete: true, arguments: { 'x-expires': 10 * 60_000 } },
    );
    await channel.bindQueue(queue, this.#settings.exchange, bindingKey);
    this.#declared.add(id);
  }

  /** Deletes a queue (tests and tools). */
  async deleteQueue(queue: string): Promise<void> {
    const channel = await this.#open();
    await channel.deleteQueue(queue);
  }

  /** Deletes the exchange (tests and tools). */
  async deleteExchange(): Promise<void> {
    const channel = await this.#open();
    await channel.deleteExchange(this.#settings.exchange);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const open = this.#channel;
    this.#channel = undefined;
    if (!open) return;
    try {
      await (await open).connection.close();
    } catch {
      // already gone
    }
  }
}
