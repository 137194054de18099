/**
 * Requests with RabbitMQ's direct reply-to: each transport consumes
 * `amq.rabbitmq.reply-to` on one channel (no queue to declare, no ack) and
 * publishes its requests on that same channel, `mandatory`, to the requests
 * exchange. A request that no responder queue is bound for comes back as a
 * `basic.return` at once, which is `NO_RESPONDERS`; a reply is matched by
 * its correlation id; a request not answered within its timeout fails with
 * `TIMEOUT`, and carries that timeout as its expiration so that a queued
 * request nobody took in time is dropped rather than answered late.
 */
import { randomUUID } from 'node:crypto';
import { CourierError, type RawMessage, type Reply, type WireError } from '@courier/core';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import type { AmqpConnection, Link, Member } from './amqp-connection.js';
import { encodeMessage, H, headerText, userHeaders } from './message-codec.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';

interface Waiting {
  readonly subject: string;
  resolve(reply: Reply): void;
  reject(error: unknown): void;
}

/** Decodes a reply message: an encoded answer, or an error in wire form. */
export function decodeReply(message: Message): Reply {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  if (headerText(headers[H.reply]) === 'error') {
    let error: WireError = { code: 'INTERNAL', message: 'unreadable error reply', retryable: false };
    try {
      const parsed = JSON.parse(message.content.toString('utf8')) as Partial<WireError> | null;
      if (parsed && typeof parsed.code === 'string') {
        error = {
          code: parsed.code,
          message: typeof parsed.message === 'string' ? parsed.message : parsed.code,
          retryable: parsed.retryable === true,
        };
        if (parsed.data !== undefined) error.data = parsed.data;
      }
    } catch {
      // keep the INTERNAL error above
    }
    return { ok: false, error };
  }
  const { content } = message;
  return {
    ok: true,
    payload: new Uint8Array(content.buffer, content.byteOffset, content.byteLength),
    contentType: headerText(message.properties.contentType) || 'application/octet-stream',
    headers: userHeaders(headers),
  };
}

/** The requesting side of one transport. */
export class RpcClient implements Member {
  readonly #connection: AmqpConnection;
  readonly #exchange: string;
  readonly #waiting = new Map<string, Waiting>();
  #channel: Promise<Channel> | undefined;
  #link: Link | undefined;

  constructor(connection: AmqpConnection, exchange: string) {
    this.#connection = connection;
    this.#exchange = exchange;
  }

  async request(message: RawMessage, timeout: number): Promise<Reply> {
    const deadline = Date.now() + timeout;
    const link = await withTimeout(this.#connection.whenUp(), timeout, message.subject);
    const channel = await withTimeout(this.#open(link), Math.max(deadline - Date.now(), 1), message.subject);
    const correlationId = randomUUID();
    const { content, options } = encodeMessage(message, undefined, false);
    const remaining = Math.max(deadline - Date.now(), 1);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(timeoutError(message.subject, timeout));
      }, remaining);
      const done =
        <T>(settle: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          this.#waiting.delete(correlationId);
          settle(value);
        };
      this.#waiting.set(correlationId, {
        subject: message.subject,
        resolve: done(resolve),
        reject: done(reject),
      });
      try {
        channel.publish(this.#exchange, message.subject, content, {
          ...options,
          persistent: false,
          mandatory: true,
          replyTo: REPLY_TO,
          correlationId,
          expiration: String(Math.ceil(remaining)),
        });
      } catch (error) {
        this.#waiting.get(correlationId)?.reject(lostError(message.subject, error));
      }
    });
  }

  /** Nothing to do until the next request: the reply channel opens on demand. */
  attach(): void {
    this.#channel = undefined;
  }

  /** The link is gone, and with it the reply channel: requests waiting on it cannot be answered. */
  detach(): void {
    this.#channel = undefined;
    this.#link = undefined;
    this.#failAll();
  }

  close(): void {
    this.detach();
  }

  #failAll(): void {
    for (const waiting of [...this.#waiting.values()]) waiting.reject(lostError(waiting.subject));
  }

  #open(link: Link): Promise<Channel> {
    if (this.#channel && this.#link === link) return this.#channel;
    this.#link = link;
    const opening = (async () => {
      const channel = await link.model.createChannel();
      channel.on('error', () => undefined);
      channel.on('close', () => {
        if (this.#channel !== opening) return;
        this.#channel = undefined;
        this.#failAll();
      });
      channel.on('return', (returned: Message) => {
        const id = headerText(returned.properties.correlationId);
        const waiting = id === undefined ? undefined : this.#waiting.get(id);
        waiting?.reject(
          new CourierError(
            'NO_RESPONDERS',
            `no handler is registered for ${waiting.subject}; start a service that handles it`,
            { data: { subject: waiting.subject } },
          ),
        );
      });
      await channel.consume(REPLY_TO, (reply: ConsumeMessage | null) => this.#reply(reply), { noAck: true });
      return channel;
    })();
    this.#channel = opening;
    opening.catch(() => {
      if (this.#channel === opening) this.#channel = undefined;
    });
    return opening;
  }

  #reply(message: ConsumeMessage | null): void {
    if (message === null) return;
    const id = headerText(message.properties.correlationId);
    if (id === undefined) return;
    // A reply after the timeout finds nobody waiting and is dropped.
    this.#waiting.get(id)?.resolve(decodeReply(message));
  }
}

function timeoutError(subject: string, timeout: number): CourierError {
  return new CourierError(
    'TIMEOUT',
    `no reply on ${subject} within ${timeout} ms; the handler may still be running`,
    { data: { subject, timeout } },
  );
}

function lostError(subject: string, cause?: unknown): CourierError {
  return new CourierError(
    'CONNECTION_CLOSED',
    `the connection to RabbitMQ dropped while waiting for a reply on ${subject}; the request may or may not have been handled`,
    cause === undefined ? {} : { cause },
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, subject: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError(subject, ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
