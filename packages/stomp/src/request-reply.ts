/**
 * Request-reply over STOMP: a request is a non-persistent message to the
 * queue `courier.rpc.<subject>` that expires with its timeout, carrying
 * `reply-to` (a temporary queue of the caller's connection) and a
 * `correlation-id`. Responders read the queue of their subject or pattern
 * (ActiveMQ wildcard queues), so the broker hands each request to exactly one
 * of them, round robin among those with credit. Replies carry `courier_reply`
 * (`ok` with the payload, or `error` with the wire error as JSON).
 */
import { CourierError, type RawMessage, type Reply } from '@courier/core';
import type { StompFrame } from './frame.js';
import { frameMessage, H, messageHeaders } from './message-frames.js';
import { requestQueue } from './names.js';
import type { StompConnection } from './stomp-connection.js';

/** The temporary queue replies come back on, one per connection. */
export const REPLY_QUEUE = '/temp-queue/courier-replies';
const REPLY_SUBSCRIPTION = 'replies';

interface Waiting {
  subject: string;
  connection: StompConnection;
  resolve(reply: Reply): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

function decodeReply(frame: StompFrame): Reply {
  if (frame.headers[H.reply] === 'error') {
    try {
      const wire = CourierError.fromWire(JSON.parse(Buffer.from(frame.body).toString('utf8')));
      return { ok: false, error: wire.toWire() };
    } catch {
      return { ok: false, error: { code: 'INTERNAL', message: 'malformed error reply', retryable: false } };
    }
  }
  const message = frameMessage(frame, '');
  return { ok: true, payload: frame.body, contentType: message.contentType, headers: message.headers };
}

/** The caller side: one reply subscription per connection and the requests waiting on it. */
export class Requester {
  readonly #waiting = new Map<string, Waiting>();
  readonly #subscribed = new WeakMap<StompConnection, Promise<void>>();
  #seq = 0;

  /** Sends a request on `connection` and resolves with its reply, or rejects with TIMEOUT or CONNECTION_CLOSED. */
  async request(connection: StompConnection, message: RawMessage, timeout: number): Promise<Reply> {
    await this.#replies(connection);
    const correlation = `c${++this.#seq}`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlation);
        reject(
          new CourierError(
            'TIMEOUT',
            `no reply on ${message.subject} within ${timeout} ms; the handler may still be running`,
            { data: { subject: message.subject, timeout } },
          ),
        );
      }, timeout);
      this.#waiting.set(correlation, { subject: message.subject, connection, resolve, reject, timer });
      try {
        connection.send(
          'SEND',
          {
            ...messageHeaders(message),
            destination: requestQueue(message.subject),
            'reply-to': REPLY_QUEUE,
            'correlation-id': correlation,
            expires: String(Date.now() + timeout),
            persistent: 'false',
          },
          message.payload,
        );
      } catch (error) {
        clearTimeout(timer);
        this.#waiting.delete(correlation);
        reject(error);
      }
    });
  }

  /** Fails every request waiting on a connection that went. */
  lost(connection: StompConnection, error: CourierError): void {
    for (const [correlation, waiting] of this.#waiting) {
      if (waiting.connection !== connection) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(correlation);
      waiting.reject(
        new CourierError(
          'CONNECTION_CLOSED',
          `the connection closed while waiting for a reply on ${waiting.subject}`,
          {
            cause: error,
          },
        ),
      );
    }
  }

  #replies(connection: StompConnection): Promise<void> {
    let subscribed = this.#subscribed.get(connection);
    if (!subscribed) {
      connection.route(REPLY_SUBSCRIPTION, (frame) => {
        const correlation = frame.headers['correlation-id'] ?? '';
        const waiting = this.#waiting.get(correlation);
        if (!waiting) return; // late: its request timed out
        clearTimeout(waiting.timer);
        this.#waiting.delete(correlation);
        waiting.resolve(decodeReply(frame));
      });
      subscribed = connection.call('SUBSCRIBE', {
        id: REPLY_SUBSCRIPTION,
        destination: REPLY_QUEUE,
        ack: 'auto',
      });
      this.#subscribed.set(connection, subscribed);
    }
    return subscribed;
  }
}

/** A responder: reads the request queue of its pattern on every connection the transport makes. */
export class StompResponder {
  readonly #id: string;
  readonly #pattern: string;
  readonly #handler: (request: RawMessage) => Promise<Reply>;
  #connection: StompConnection | undefined;
  #closed = false;

  constructor(options: { id: string; pattern: string; handler: (request: RawMessage) => Promise<Reply> }) {
    this.#id = options.id;
    this.#pattern = options.pattern;
    this.#handler = options.handler;
  }

  async attach(connection: StompConnection): Promise<void> {
    if (this.#closed || this.#connection === connection) return; // already subscribed there
    this.#connection = connection;
    connection.route(this.#id, (frame) => this.#onRequest(connection, frame));
    await connection.call('SUBSCRIBE', {
      id: this.#id,
      destination: requestQueue(this.#pattern),
      ack: 'client-individual',
      'activemq.prefetchSize': '16',
    });
  }

  /** Takes no more requests; those taken still get their replies. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = this.#connection;
    if (!connection || connection.closed) return;
    await connection.call('UNSUBSCRIBE', { id: this.#id }).catch(() => undefined);
  }

  #onRequest(connection: StompConnection, frame: StompFrame): void {
    const ack = (): void => {
      if (!connection.closed) connection.send('ACK', { id: frame.headers['ack'] ?? '' });
    };
    const expires = Number(frame.headers['expires'] ?? 0);
    const replyTo = frame.headers['reply-to'];
    if ((expires > 0 && expires < Date.now()) || replyTo === undefined) {
      ack(); // nobody waits for it any more
      return;
    }
    const request = frameMessage(frame, this.#pattern);
    void this.#handler(request)
      .catch((error: unknown) => ({
        ok: false as const,
        error: CourierError.is(error)
          ? error.toWire()
          : { code: 'HANDLER_ERROR', message: String((error as Error)?.message ?? error), retryable: false },
      }))
      .then((reply) => {
        if (connection.closed) return;
        const headers: Record<string, string> = {
          destination: replyTo,
          'correlation-id': frame.headers['correlation-id'] ?? '',
          persistent: 'false',
        };
        if (reply.ok) {
          headers[H.reply] = 'ok';
          headers[H.contentType] = reply.contentType;
          if (Object.keys(reply.headers).length > 0) headers[H.headers] = JSON.stringify(reply.headers);
          connection.send('SEND', headers, reply.payload);
        } else {
          headers[H.reply] = 'error';
          connection.send('SEND', headers, Buffer.from(JSON.stringify(reply.error), 'utf8'));
        }
        ack();
      });
  }
}
