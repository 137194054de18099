/**
 * One pull loop: a private inbox and the pull requests that ask one
 * JetStream consumer to send messages there. The loop only counts what it
 * asked for and what came; the member decides how much to ask for (its
 * credit). Pull requests expire every 30 s and carry idle heartbeats, so a
 * request lost with a connection or a server restart is noticed and asked
 * again; a reconnect asks again at once.
 */

import { bounded } from '@courier/core/internal';
import { createInbox, type Msg, type NatsConnection, nanos, type Subscription } from '@nats-io/nats-core';

/** How long one pull request waits on the server. */
export const PULL_EXPIRES = 30_000;
/** How often the server says an idle pull request is still alive. */
export const PULL_HEARTBEAT = 5_000;

const encoder = new TextEncoder();

/** What the loop reports to its member. */
export interface PullLoopEvents {
  /** A message of the consumer (its reply subject is its ack subject). */
  message(msg: Msg): void;
  /** The loop's outstanding count changed: the member may ask for more. */
  changed(): void;
  /** The consumer seems gone (deleted, or the server lost it): recreate it, then ask again. */
  lost(): void;
}

/** Pull requests and an inbox for one consumer. */
export class PullLoop {
  readonly #nc: NatsConnection;
  readonly #subject: string;
  readonly #events: PullLoopEvents;
  readonly #inbox = createInbox();
  #sub: Subscription | undefined;
  /** Messages asked for and neither received nor expired. */
  outstanding = 0;
  #lastActivity = Date.now();

  constructor(nc: NatsConnection, stream: string, consumer: string, events: PullLoopEvents) {
    this.#nc = nc;
    this.#subject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`;
    this.#events = events;
  }

  start(): void {
    this.#sub = this.#nc.subscribe(this.#inbox, { callback: (error, msg) => this.#onInbox(error, msg) });
  }

  /** Asks for `batch` more messages. */
  pull(batch: number): void {
    if (!this.#sub || batch <= 0) return;
    const request = { batch, expires: nanos(PULL_EXPIRES), idle_heartbeat: nanos(PULL_HEARTBEAT) };
    try {
      this.#nc.publish(this.#subject, encoder.encode(JSON.stringify(request)), { reply: this.#inbox });
    } catch {
      return; // the connection is closed: nothing will come
    }
    if (this.outstanding === 0) this.#lastActivity = Date.now();
    this.outstanding += batch;
  }

  /** Forgets every request, as after a reconnect: the server may have dropped them. */
  reset(): void {
    this.outstanding = 0;
  }

  /**
   * Notices requests that went silent (no message and no heartbeat for
   * three heartbeats) and reports the consumer as lost.
   */
  check(now: number): void {
    if (this.outstanding > 0 && now - this.#lastActivity > 3 * PULL_HEARTBEAT) {
      this.outstanding = 0;
      this.#lastActivity = now;
      this.#events.lost();
    }
  }

  /**
   * Stops receiving: the server drops requests whose inbox lost interest;
   * messages already on the way are still handed to the member.
   */
  async drain(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    this.outstanding = 0;
    // Draining waits for the server's answer: bounded, for a connection that is down.
    if (sub && !sub.isClosed()) await bounded(sub.drain(), 2000, undefined);
    if (sub && !sub.isClosed()) sub.unsubscribe();
  }

  #onInbox(error: Error | null, msg: Msg): void {
    this.#lastActivity = Date.now();
    if (error) return;
    const code = msg.headers?.code ?? 0;
    if (code === 0 && msg.reply) {
      this.outstanding = Math.max(0, this.outstanding - 1);
      this.#events.message(msg);
      return;
    }
    if (code === 100) return; // idle heartbeat
    const left = Number(msg.headers?.get('Nats-Pending-Messages') || Number.NaN);
    if ((code === 404 || code === 408) && Number.isFinite(left)) {
      this.outstanding = Math.max(0, this.outstanding - left);
    } else if (code === 409 || code === 503) {
      // Consumer deleted, max waiting exceeded, leadership change, no responders: recover with a backoff.
      this.outstanding = code === 409 && Number.isFinite(left) ? Math.max(0, this.outstanding - left) : 0;
      this.#events.lost();
      return;
    } else {
      this.outstanding = Number.isFinite(left) ? Math.max(0, this.outstanding - left) : 0;
    }
    this.#events.changed();
  }
}
