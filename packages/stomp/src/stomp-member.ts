/**
 * One member of a group on a STOMP broker: a `client-individual`
 * subscription with `activemq.prefetchSize` as its credit, and the deliveries
 * it hands out. Acks wait for the broker's receipt. A retry or a dead letter
 * is a copy sent in the same transaction as the ack of the original, so the
 * message is never in both places nor in neither: retries go back to the
 * group's own queue (held by ActiveMQ's scheduler for their delay), dead
 * letters to the group's dead-letter queue with the error.
 *
 * Durable groups read their virtual-topic consumer queue. A private
 * (non-durable) subscription reads the topic itself, which the broker forgets
 * with the subscription, and takes its retries through a temporary queue of
 * its connection.
 */
import {
  CourierError,
  type Delivery,
  deadLetterHeaders,
  type RawMessage,
  subjectMatcher,
  type WireError,
} from '@courier/core';
import type { StompFrame } from './frame.js';
import {
  attemptOf,
  copyMessageHeaders,
  DeadLetterHeader,
  earlyBy,
  frameMessage,
  H,
  subjectOfDestination,
} from './message-frames.js';
import { consumerQueue, deadLetterQueue, encodeSubject } from './names.js';
import type { StompConnection } from './stomp-connection.js';

/** What a member needs to know, fixed when it is created. */
export interface MemberSpec {
  /** The subscription id, unique on the transport. */
  readonly id: string;
  readonly subject: string;
  readonly group: string;
  readonly durable: boolean;
  readonly maxInFlight: number;
  readonly ackWait: number;
  readonly onDelivery: (delivery: Delivery) => void;
  /** Reports failures no caller is waiting for (a lost settle). */
  readonly onError: (error: unknown) => void;
}

interface Pending {
  frame: StompFrame;
  connection: StompConnection;
  attempt: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
}

let txSeq = 0;

/** A group member that survives reconnects: `attach` subscribes it on each new connection. */
export class StompMember {
  readonly #spec: MemberSpec;
  readonly #matches: (subject: string) => boolean;
  readonly #pending = new Set<Pending>();
  #parked: Pending[] = [];
  #connection: StompConnection | undefined;
  #stopped = false;
  #closed = false;

  constructor(spec: MemberSpec) {
    this.#spec = spec;
    this.#matches = subjectMatcher(spec.subject);
  }

  /** Where this member reads from. */
  get destination(): string {
    const { durable, group, subject } = this.#spec;
    return durable ? consumerQueue(group, subject) : `/topic/VirtualTopic.${encodeSubject(subject)}`;
  }

  /** Where its retries go. */
  get #retryDestination(): string {
    return this.#spec.durable ? this.destination : `/temp-queue/courier-retry-${this.#spec.id}`;
  }

  /** Subscribes on a (new) connection and waits for the broker to confirm. */
  async attach(connection: StompConnection): Promise<void> {
    if (this.#closed || this.#connection === connection) return; // already subscribed there
    this.#connection = connection;
    this.#parked = [];
    const route = (frame: StompFrame): void => this.#onFrame(connection, frame);
    const headers = {
      ack: 'client-individual',
      'activemq.prefetchSize': String(this.#spec.maxInFlight),
    };
    connection.route(this.#spec.id, route);
    const subscribed = [
      connection.call('SUBSCRIBE', { id: this.#spec.id, destination: this.destination, ...headers }),
    ];
    if (!this.#spec.durable) {
      connection.route(`${this.#spec.id}r`, route);
      subscribed.push(
        connection.call('SUBSCRIBE', {
          id: `${this.#spec.id}r`,
          destination: this.#retryDestination,
          ...headers,
        }),
      );
    }
    await Promise.all(subscribed);
  }

  /** Stops handing out deliveries; later arrivals are held and given back on close. */
  stop(): void {
    this.#stopped = true;
  }

  /** Gives back what was never handed out (its attempt unchanged) and unsubscribes; the rest returns to the group. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    const connection = this.#connection;
    for (const pending of this.#pending) clearTimeout(pending.timer);
    if (!connection || connection.closed) return;
    const parked = this.#parked.splice(0);
    if (parked.length > 0) {
      await this.#transact(
        connection,
        parked.map((p) => ({
          pending: p,
          destination: this.#retryDestination,
          headers: this.#retryHeaders(p, p.attempt, 0),
        })),
      ).catch(() => undefined);
    }
    const ids = this.#spec.durable ? [this.#spec.id] : [this.#spec.id, `${this.#spec.id}r`];
    await Promise.all(ids.map((id) => connection.call('UNSUBSCRIBE', { id }).catch(() => undefined)));
    for (const id of ids) connection.route(id, undefined);
  }

  #onFrame(connection: StompConnection, frame: StompFrame): void {
    const pending: Pending = {
      frame,
      connection,
      attempt: attemptOf(frame),
      settled: false,
      timer: undefined,
    };
    const subject = frame.headers[H.subject] ?? subjectOfDestination(frame.headers['original-destination']);
    if (!this.#matches(subject)) {
      // ActiveMQ's '>' also matches zero tokens; Courier's needs one or more. Not ours: drop it.
      connection.send('ACK', { id: frame.headers['ack'] ?? '' });
      return;
    }
    const early = earlyBy(frame, Date.now());
    if (early > 0) {
      // The broker's scheduler is off or fired early: hold it (unacked, so a crash loses nothing).
      setTimeout(() => this.#handOut(pending), early).unref();
      return;
    }
    this.#handOut(pending);
  }

  #handOut(pending: Pending): void {
    if (pending.connection !== this.#connection || pending.connection.closed) return;
    if (this.#stopped) {
      this.#parked.push(pending);
      return;
    }
    this.#pending.add(pending);
    pending.timer = this.#ackTimer(pending);
    const message: RawMessage = frameMessage(
      pending.frame,
      subjectOfDestination(
        pending.frame.headers['original-destination'] ?? pending.frame.headers['destination'],
      ),
    );
    this.#spec.onDelivery({
      message,
      attempt: pending.attempt,
      // Acks are pipelined, not confirmed: a receipt would make ActiveMQ sync its store once per ack. The
      // broker handles a connection's frames in order, so acks written before an UNSUBSCRIBE or DISCONNECT
      // count; if the connection dies first, the message comes again (at least once).
      ack: () =>
        this.#settle(pending, async (c) => {
          c.send('ACK', { id: pending.frame.headers['ack'] ?? '' });
        }),
      nack: (delay) =>
        this.#settle(pending, (c) =>
          this.#transact(c, [
            {
              pending,
              destination: this.#retryDestination,
              headers: this.#retryHeaders(pending, pending.attempt + 1, delay),
            },
          ]),
        ),
      deadLetter: (error) =>
        this.#settle(pending, (c) =>
          this.#transact(c, [
            {
              pending,
              destination: deadLetterQueue(this.#spec.group),
              headers: this.#deadHeaders(pending, error),
            },
          ]),
        ),
      touch: () => {
        if (pending.settled) return;
        clearTimeout(pending.timer);
        pending.timer = this.#ackTimer(pending);
      },
    });
  }

  #ackTimer(pending: Pending): NodeJS.Timeout {
    const timer = setTimeout(() => {
      // Not settled nor touched within ackWait: back to the group, as a new attempt.
      this.#settle(pending, (c) =>
        this.#transact(c, [
          {
            pending,
            destination: this.#retryDestination,
            headers: this.#retryHeaders(pending, pending.attempt + 1, 0),
          },
        ]),
      ).catch((error: unknown) => this.#spec.onError(error));
    }, this.#spec.ackWait);
    timer.unref();
    return timer;
  }

  async #settle(pending: Pending, action: (connection: StompConnection) => Promise<void>): Promise<void> {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    this.#pending.delete(pending);
    const connection = pending.connection;
    if (this.#closed) {
      // Unsubscribed: the broker already gave it back to the group; an ACK now would be an error frame.
      throw new CourierError(
        'CONNECTION_CLOSED',
        `the member was closed before message ${pending.frame.headers[H.id] ?? ''} was settled; it went back to its group`,
      );
    }
    if (connection.closed) {
      throw new CourierError(
        'CONNECTION_CLOSED',
        `the STOMP connection that delivered message ${pending.frame.headers[H.id] ?? ''} closed before it was settled; the broker delivers it again`,
      );
    }
    await action(connection);
  }

  #retryHeaders(pending: Pending, attempt: number, delay: number): Record<string, string> {
    const headers: Record<string, string> = {
      ...copyMessageHeaders(pending.frame),
      [H.attempt]: String(attempt),
    };
    if (delay > 0) {
      headers[H.notBefore] = String(Date.now() + delay);
      headers['AMQ_SCHEDULED_DELAY'] = String(delay);
    }
    return headers;
  }

  #deadHeaders(pending: Pending, error: WireError): Record<string, string> {
    return {
      ...copyMessageHeaders(pending.frame),
      ...deadLetterHeaders(
        {
          group: this.#spec.group,
          pattern: this.#spec.subject,
          error,
          attempts: pending.attempt,
          time: Date.now(),
        },
        DeadLetterHeader,
      ),
    };
  }

  /** Sends copies and acks the originals in one broker transaction. */
  async #transact(
    connection: StompConnection,
    moves: Array<{ pending: Pending; destination: string; headers: Record<string, string> }>,
  ): Promise<void> {
    const transaction = `tx${++txSeq}`;
    connection.send('BEGIN', { transaction });
    for (const move of moves) {
      connection.send(
        'SEND',
        { ...move.headers, destination: move.destination, persistent: 'true', transaction },
        move.pending.frame.body,
      );
      connection.send('ACK', { id: move.pending.frame.headers['ack'] ?? '', transaction });
    }
    await connection.call('COMMIT', { transaction });
  }
}
