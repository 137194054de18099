/**
 * The channel a consumer (a group member, a request responder) keeps on the
 * current link: opened and declared when the member attaches, opened again
 * with backoff when that fails or the broker closes the channel or cancels
 * the consumer (its queue was deleted), and dropped with the link. What is
 * declared and what a message means stay with the member.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { type AmqpConnection, backoff, type Link, type Member } from './amqp-connection.js';

/** What a {@link ConsumerChannel} asks of its member. */
export interface ConsumerChannelOptions {
  readonly connection: AmqpConnection;
  /** The queue to consume. */
  readonly queue: string;
  /** Declares the queue and its bindings and sets the prefetch on a new channel. */
  declare(channel: Channel): Promise<void>;
  /** Whether to consume once declared (a stopped member declares, but takes nothing). */
  consuming(): boolean;
  /** A message that arrived on `channel`. */
  receive(channel: Channel, message: ConsumeMessage): void;
}

/** See the module comment; the connection re-attaches it on every new link. */
export class ConsumerChannel implements Member {
  readonly #options: ConsumerChannelOptions;
  #channel: Channel | undefined;
  #tag: string | undefined;
  #link: Link | undefined;
  #closed = false;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: ConsumerChannelOptions) {
    this.#options = options;
  }

  /** The live channel, if any: a delivery from another one can no longer be settled. */
  get channel(): Channel | undefined {
    return this.#channel;
  }

  /** Whether {@link retire} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sets up on `link` and starts consuming; rejects on failure (the first attach reports it to the caller). */
  async open(link: Link): Promise<void> {
    this.#link = link;
    const channel = await link.model.createChannel();
    channel.on('error', () => undefined);
    channel.on('close', () => this.#lost(channel, link));
    try {
      await this.#options.declare(channel);
      if (this.#closed || this.#link !== link) throw new Error('closed while attaching');
      this.#channel = channel;
      if (this.#options.consuming()) {
        const { consumerTag } = await channel.consume(this.#options.queue, (message) => {
          if (message === null) this.#cancelled(channel);
          else this.#options.receive(channel, message);
        });
        this.#tag = consumerTag;
        // Stopped while the consume was on its way: cancel() saw no tag, so cancel it here.
        if (!this.#options.consuming()) await this.cancel();
      }
      this.#failures = 0;
    } catch (error) {
      if (this.#channel === channel) this.#channel = undefined;
      await channel.close().catch(() => undefined);
      throw error;
    }
  }

  /** Sets up on a new link, retrying with backoff until it works or the link goes. */
  attach(link: Link): Promise<void> {
    clearTimeout(this.#retry);
    return this.open(link).catch(() => this.#retryLater(link));
  }

  /** The link is gone, and its channel with it. */
  detach(): void {
    this.#link = undefined;
    this.#channel = undefined;
    this.#tag = undefined;
    clearTimeout(this.#retry);
  }

  /** Takes no more messages; the channel stays open, so deliveries already taken can be settled. */
  async cancel(): Promise<void> {
    const channel = this.#channel;
    const tag = this.#tag;
    this.#tag = undefined;
    if (channel && tag !== undefined) await channel.cancel(tag).catch(() => undefined);
  }

  /** Never attaches again (the connection forgets it); the channel stays open until {@link close}. */
  retire(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#options.connection.remove(this);
  }

  /** Closes the channel for good: RabbitMQ returns every unsettled delivery to the queue. */
  async close(): Promise<void> {
    this.retire();
    const channel = this.#channel;
    this.#channel = undefined;
    this.#link = undefined;
    if (channel) await channel.close().catch(() => undefined);
  }

  /** A channel error on a live connection (the queue was deleted, a declaration clashed): try again. */
  #lost(channel: Channel, link: Link): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    this.#tag = undefined;
    this.#retryLater(link);
  }

  /** The broker cancelled the consumer (its queue was deleted): declare it again and resume. */
  #cancelled(channel: Channel): void {
    if (this.#channel !== channel) return;
    const link = this.#link;
    this.#channel = undefined;
    this.#tag = undefined;
    void channel.close().catch(() => undefined);
    if (link) this.#retryLater(link);
  }

  #retryLater(link: Link): void {
    const { connection } = this.#options;
    if (this.#closed || connection.link !== link) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(
      () => {
        if (!this.#closed && connection.link === link) void this.attach(link);
      },
      backoff(this.#failures++, 100, 5000),
    );
  }
}
