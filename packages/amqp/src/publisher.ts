/**
 * Confirmed publishing. Every message goes out on the connection's confirm
 * channel and its promise settles on the broker's ack (RabbitMQ acks a
 * persistent message once its queues hold it durably). Messages not yet
 * confirmed when the connection drops are kept and sent again on the next
 * link, in their order, so a publish never fails because of a reconnect:
 * it resolves once the broker has it (at least once: a message whose ack
 * was lost with the connection may be stored twice). `mandatory` publishes
 * resolve with `returned: true` when nothing could route them.
 */
import { CourierError } from '@courier/core';
import type { Options } from 'amqplib';
import type { AmqpConnection, Link, Member } from './amqp-connection.js';
import { H } from './message-codec.js';

/** What to publish where. */
export interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish & { headers: Record<string, unknown> };
  /** Ask the broker to return the message when no queue takes it. */
  readonly mandatory?: boolean;
}

/** How a publish ended. */
export interface Published {
  /** True when the message was mandatory and no queue took it. */
  readonly returned: boolean;
}

interface Pending {
  readonly outgoing: Outgoing;
  readonly token: string | undefined;
  /** The epoch of the link it was last sent on; 0 while it waits for one. */
  epoch: number;
  resolve(published: Published): void;
  reject(error: unknown): void;
}

/** The confirm-channel publisher of one transport. */
export class Publisher implements Member {
  readonly #connection: AmqpConnection;
  readonly #pending = new Set<Pending>();
  readonly #returned = new Set<string>();
  #tokens = 0;
  #link: Link | undefined;
  #drained: Promise<void> | undefined;

  constructor(connection: AmqpConnection) {
    this.#connection = connection;
  }

  /** How many publishes wait for their confirmation. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Publishes and resolves on the broker's confirmation; survives reconnects. */
  publish(outgoing: Outgoing): Promise<Published> {
    if (this.#connection.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const token = outgoing.mandatory ? `${process.pid}-${++this.#tokens}` : undefined;
      const entry: Pending = { outgoing, token, epoch: 0, resolve, reject };
      this.#pending.add(entry);
      if (this.#link) this.#send(entry, this.#link);
    });
  }

  attach(link: Link): void {
    this.#link = link;
    this.#drained = undefined;
    link.confirm.on('return', (message) => {
      const token = message.properties.headers?.[H.token];
      if (typeof token === 'string') this.#returned.add(token);
    });
    // Everything unconfirmed goes out again on the new link, oldest first.
    for (const entry of this.#pending) if (entry.epoch !== link.epoch) this.#send(entry, link);
  }

  detach(): void {
    this.#link = undefined;
  }

  /** Rejects whatever is still unconfirmed: the transport is closing. */
  close(): void {
    this.#link = undefined;
    for (const entry of this.#pending) entry.reject(closedError());
    this.#pending.clear();
  }

  #send(entry: Pending, link: Link): void {
    entry.epoch = link.epoch;
    if (this.#drained) {
      // The socket is full: wait for it to drain (or close) before writing more.
      void this.#drained.then(() => {
        if (this.#link === link && entry.epoch === link.epoch && this.#pending.has(entry))
          this.#send(entry, link);
      });
      return;
    }
    const { exchange, routingKey, content, options, mandatory } = entry.outgoing;
    if (entry.token !== undefined) options.headers[H.token] = entry.token;
    if (mandatory) options.mandatory = true;
    let writable: boolean;
    try {
      writable = link.confirm.publish(exchange, routingKey, content, options, (error: unknown) =>
        this.#confirmed(entry, link, error),
      );
    } catch (error) {
      // A closed channel throws; the reconnect sends it again. Anything else is this message's fault.
      if (this.#link === link && isEncodingError(error)) {
        this.#pending.delete(entry);
        entry.reject(
          new CourierError('INVALID_OPTION', `RabbitMQ cannot encode this message: ${errorText(error)}`, {
            cause: error,
          }),
        );
      } else {
        entry.epoch = 0;
      }
      return;
    }
    if (!writable && this.#link === link) {
      this.#drained ??= new Promise((resolve) => {
        const done = (): void => {
          link.confirm.off('drain', done);
          link.confirm.off('close', done);
          if (this.#link === link) this.#drained = undefined;
          resolve();
        };
        link.confirm.on('drain', done);
        link.confirm.on('close', done);
      });
    }
  }

  #confirmed(entry: Pending, link: Link, error: unknown): void {
    if (entry.epoch !== link.epoch || !this.#pending.has(entry)) return;
    const returned = entry.token !== undefined && this.#returned.delete(entry.token);
    if (error === null || error === undefined) {
      this.#pending.delete(entry);
      entry.resolve({ returned });
      return;
    }
    if (errorText(error) === 'message nacked') {
      this.#pending.delete(entry);
      entry.reject(
        new CourierError(
          'STORAGE_ERROR',
          `RabbitMQ refused to store the message on ${entry.outgoing.routingKey} (basic.nack); its queues may be full or unavailable; try again`,
        ),
      );
      return;
    }
    // The channel closed before the confirmation: send it again on the next link.
    entry.epoch = 0;
    this.#connection.lost(link);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isEncodingError(error: unknown): boolean {
  return error instanceof RangeError || error instanceof TypeError;
}

function closedError(): CourierError {
  return new CourierError(
    'CONNECTION_CLOSED',
    'the RabbitMQ transport is closed; the message was not confirmed; connect again to publish',
  );
}
