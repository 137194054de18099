/**
 * A request handler on RabbitMQ: every responder of a subject pattern, in
 * any process, consumes the same auto-delete queue bound to the requests
 * exchange, so RabbitMQ hands each request to exactly one of them (round
 * robin among those with credit). The request is acked once its reply is
 * sent, so a responder that dies mid-request leaves it to another. Replies
 * go to the caller's direct reply-to address with its correlation id.
 */
import { CourierError, type RawMessage, type Reply, type Responder } from '@courier/core';
import type { Channel, ConsumeMessage } from 'amqplib';
import { type AmqpConnection, backoff, type Link, type Member } from './amqp-connection.js';
import { decodeMessage, encodeMessage, H, headerText } from './message-codec.js';

/** What a responder needs from its transport. */
export interface ResponderSpec {
  readonly connection: AmqpConnection;
  readonly exchange: string;
  readonly queue: string;
  readonly bindingKey: string;
  /** Requests one responder works on at once. */
  readonly prefetch: number;
  readonly handler: (request: RawMessage) => Promise<Reply>;
}

/** One registered responder. */
export class RpcResponder implements Responder, Member {
  readonly #spec: ResponderSpec;
  readonly #inFlight = new Set<Promise<void>>();
  #channel: Channel | undefined;
  #tag: string | undefined;
  #closed = false;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;

  constructor(spec: ResponderSpec) {
    this.#spec = spec;
  }

  async start(link: Link): Promise<void> {
    const { queue, exchange, bindingKey, prefetch } = this.#spec;
    const channel = await link.model.createChannel();
    channel.on('error', () => undefined);
    channel.on('close', () => {
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#retryLater(link);
    });
    try {
      // Auto-delete: the queue goes with its last responder, so a request with none is unroutable at once.
      await channel.assertQueue(queue, {
        durable: false,
        autoDelete: true,
        arguments: { 'x-queue-type': 'classic' },
      });
      await channel.bindQueue(queue, exchange, bindingKey);
      await channel.prefetch(prefetch);
      if (this.#closed) throw new Error('closed while attaching');
      this.#channel = channel;
      const { consumerTag } = await channel.consume(queue, (message) => this.#receive(channel, message));
      this.#tag = consumerTag;
      this.#failures = 0;
    } catch (error) {
      if (this.#channel === channel) this.#channel = undefined;
      await channel.close().catch(() => undefined);
      throw error;
    }
  }

  attach(link: Link): Promise<void> {
    clearTimeout(this.#retry);
    return this.start(link).catch(() => this.#retryLater(link));
  }

  detach(): void {
    this.#channel = undefined;
    this.#tag = undefined;
    clearTimeout(this.#retry);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#spec.connection.remove(this);
    const channel = this.#channel;
    if (channel && this.#tag !== undefined) await channel.cancel(this.#tag).catch(() => undefined);
    // Requests already taken still get their replies.
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#channel = undefined;
    if (channel) await channel.close().catch(() => undefined);
  }

  #retryLater(link: Link): void {
    if (this.#closed || this.#spec.connection.link !== link) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(
      () => {
        if (!this.#closed && this.#spec.connection.link === link) void this.attach(link);
      },
      backoff(this.#failures++, 100, 5000),
    );
  }

  #receive(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // Cancelled by the broker (the queue was deleted): declare it again.
      const link = this.#spec.connection.link;
      if (this.#channel === channel && link) {
        this.#channel = undefined;
        void channel.close().catch(() => undefined);
        this.#retryLater(link);
      }
      return;
    }
    const work = this.#answer(channel, message);
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #answer(channel: Channel, message: ConsumeMessage): Promise<void> {
    const replyTo = headerText(message.properties.replyTo);
    const correlationId = headerText(message.properties.correlationId);
    let reply: Reply;
    try {
      reply = await this.#spec.handler(decodeMessage(message));
    } catch (error) {
      const failure =
        error instanceof CourierError
          ? error
          : new CourierError('HANDLER_ERROR', error instanceof Error ? error.message : String(error));
      reply = { ok: false, error: failure.toWire() };
    }
    try {
      if (replyTo !== undefined && replyTo !== '') {
        const { content, options } = encodeReply(reply);
        channel.publish(
          '',
          replyTo,
          content,
          correlationId === undefined ? options : { ...options, correlationId },
        );
      }
      channel.ack(message);
    } catch {
      // The channel closed: the request went back to the queue, for another responder.
    }
  }
}

/** A reply as an AMQP message: the answer's payload, or the error as JSON with `courier-reply: error`. */
export function encodeReply(reply: Reply): {
  content: Buffer;
  options: { contentType: string; headers: Record<string, unknown>; persistent: false };
} {
  if (!reply.ok) {
    let json: string;
    try {
      json = JSON.stringify(reply.error);
    } catch {
      json = JSON.stringify({
        code: reply.error.code,
        message: reply.error.message,
        retryable: reply.error.retryable,
      });
    }
    return {
      content: Buffer.from(json, 'utf8'),
      options: { contentType: 'application/json', headers: { [H.reply]: 'error' }, persistent: false },
    };
  }
  const { content, options } = encodeMessage({
    id: '',
    subject: '',
    payload: reply.payload,
    contentType: reply.contentType,
    headers: reply.headers,
    time: Date.now(),
    source: '',
  });
  const headers: Record<string, unknown> = { ...options.headers, [H.reply]: 'ok' };
  delete headers[H.subject];
  delete headers[H.time];
  return { content, options: { contentType: reply.contentType, headers, persistent: false } };
}
