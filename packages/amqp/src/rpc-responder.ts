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
import type { AmqpConnection } from './amqp-connection.js';
import { ConsumerChannel } from './consumer-channel.js';
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
export class RpcResponder implements Responder {
  readonly #spec: ResponderSpec;
  /** Its channel, which the transport attaches to the connection. */
  readonly consumerChannel: ConsumerChannel;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(spec: ResponderSpec) {
    this.#spec = spec;
    const { queue, exchange, bindingKey, prefetch } = spec;
    this.consumerChannel = new ConsumerChannel({
      connection: spec.connection,
      queue,
      declare: async (channel) => {
        // Auto-delete: the queue goes with its last responder, so a request with none is unroutable at once.
        await channel.assertQueue(queue, {
          durable: false,
          autoDelete: true,
          arguments: { 'x-queue-type': 'classic' },
        });
        await channel.bindQueue(queue, exchange, bindingKey);
        await channel.prefetch(prefetch);
      },
      consuming: () => true,
      receive: (channel, message) => {
        const work = this.#answer(channel, message);
        this.#inFlight.add(work);
        void work.finally(() => this.#inFlight.delete(work));
      },
    });
  }

  async close(): Promise<void> {
    if (this.consumerChannel.closed) return;
    this.consumerChannel.retire();
    await this.consumerChannel.cancel();
    // Requests already taken still get their replies.
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await this.consumerChannel.close();
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
