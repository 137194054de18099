/**
 * A member of a group: one receiver link on the group's queue, with credit
 * equal to `maxInFlight`, settling each delivery with an AMQP outcome.
 *
 * - ack: `accepted`.
 * - nack: the copy goes back to the group's queue carrying its attempt
 *   count (confirmed by the broker), then the original is `accepted`.
 *   RabbitMQ 3.x neither counts `released` deliveries nor accepts the
 *   `modified` outcome (it ends the session), and pre-settled brokers have
 *   nothing to release, so a counted copy is the one retry that works on
 *   both. A crash between the two steps leaves both: at least once.
 * - deadLetter: a copy with the error goes to the group's dead-letter queue
 *   (confirmed), then the original is `rejected`.
 * - Liveness is the connection's: when it drops, the broker redelivers what
 *   was not settled (`first-acquirer` false counts one more attempt); the
 *   member re-attaches with rhea and gets fresh credit.
 * - ackWait: AMQP 1.0 has no ack deadline, so the member keeps the clock
 *   (restarted by `touch`) and retries an expired delivery as a nack would;
 *   a later settle of it does nothing.
 *
 * Brokers that send pre-settled (at most once) have already forgotten a
 * delivery, so whatever the member cannot hand to the application (after
 * `stop`, or abandoned at `close`) is sent back to the queue.
 */
import type { ConsumeOptions, Consumer, Delivery, WireError } from '@courier/core';
import type { AmqpConnection } from './amqp-connection.js';
import { type Decoded, fromAmqp, toAmqp } from './amqp-message.js';
import type { BrokerProfile } from './broker-profile.js';
import {
  linkError,
  type OwnedReceiver,
  type RheaContext,
  type RheaDelivery,
  type RheaLink,
} from './rhea-types.js';

/** What a member needs from its transport. */
export interface MemberSettings {
  readonly connection: AmqpConnection;
  readonly profile: BrokerProfile;
  readonly options: ConsumeOptions;
  /** The queue the group reads. */
  readonly queue: string;
  readonly onDelivery: (delivery: Delivery) => void;
  readonly onClosed: () => void;
}

interface Held {
  readonly amqp: RheaDelivery;
  readonly decoded: Decoded;
  readonly epoch: number;
  settled: boolean;
  /** The ack-wait clock, while the application holds it. */
  timer?: NodeJS.Timeout;
}

/** Sends an outcome, unless the broker sent the delivery pre-settled (then there is nothing to settle). */
function outcome(
  delivery: RheaDelivery,
  kind: 'accept' | 'reject' | 'release',
  error?: { condition: string; description?: string },
): void {
  if (delivery.remote_settled) return;
  if (kind === 'accept') delivery.accept();
  else if (kind === 'reject') delivery.reject(error);
  else delivery.release();
}

/** Attaches a member and resolves once the broker opened its link. */
export async function attachMember(settings: MemberSettings): Promise<Consumer> {
  const member = new Amqp10Member(settings);
  await member.opened;
  return member;
}

class Amqp10Member implements Consumer {
  readonly opened: Promise<void>;
  readonly #s: MemberSettings;
  readonly #link: RheaLink;
  readonly #receiver: OwnedReceiver;
  readonly #held = new Set<Held>();
  /** Received beyond what the application may hold: RabbitMQ 3.x adds up credit instead of setting it. */
  readonly #waiting: Held[] = [];
  #epoch = 0;
  #inFlight = 0;
  #stopped = false;
  #closed = false;

  constructor(settings: MemberSettings) {
    this.#s = settings;
    const { connection, profile, queue, options } = settings;
    this.#receiver = connection.openReceiver({
      name: `${options.group}-${Math.random().toString(36).slice(2, 10)}`,
      source: { address: profile.sourceAddress(queue) },
      autoaccept: false,
      autosettle: true,
      credit_window: 0,
    });
    this.#link = this.#receiver.link;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#link.on('receiver_open', () => {
        // A (re)attach: deliveries of the previous attach are void, the broker redelivers them.
        this.#epoch++;
        this.#inFlight = 0;
        for (const held of this.#waiting.splice(0)) {
          if (this.#current(held)) this.#waiting.push(held);
          else this.#dropStale(held);
        }
        this.#grant();
        resolve();
      });
      this.#link.on('receiver_error', (context) => {
        reject(linkError(context.error ?? this.#link.error, `cannot read ${queue}`));
      });
      this.#link.on('receiver_close', () => {
        reject(linkError(this.#link.error, `cannot read ${queue}`));
      });
    });
    this.opened.catch(() => {
      this.#closed = true;
      settings.onClosed();
    });
    this.#link.on('message', (context) => this.#onMessage(context));
  }

  #grant(): void {
    if (this.#stopped || this.#closed) return;
    // A flow after every settle: the Proton example broker sends one message per flow it gets, and
    // RabbitMQ 3.x may send beyond the credit (the member holds those back, see #waiting).
    const wanted = this.#s.options.maxInFlight - this.#inFlight - (this.#link.credit ?? 0);
    if (wanted > 0) this.#link.add_credit?.(wanted);
  }

  #onMessage(context: RheaContext): void {
    const delivery = context.delivery;
    if (!delivery || !context.message) return;
    // Pre-settled: settle our side at once (no frame goes out), or rhea's session window never reopens.
    if (delivery.remote_settled) delivery.update(true);
    const decoded = fromAmqp(context.message, this.#s.options.subject);
    const held: Held = { amqp: delivery, decoded, epoch: this.#epoch, settled: false };
    this.#inFlight++;
    if (this.#stopped || this.#closed) {
      void this.#giveBack(held);
      return;
    }
    if (this.#held.size >= this.#s.options.maxInFlight) {
      this.#waiting.push(held);
      return;
    }
    this.#handOut(held);
  }

  #handOut(held: Held): void {
    const { decoded, amqp: delivery } = held;
    this.#held.add(held);
    const attempt = decoded.priorAttempts + 1 + Math.min(decoded.redelivered, 1);
    const retry = async (): Promise<void> => {
      if (!this.#current(held)) return;
      await this.#s.connection.send(
        this.#s.profile.targetAddress(this.#s.queue),
        toAmqp(decoded.message, { attempts: attempt }),
      );
      outcome(delivery, 'accept');
    };
    const ackWait = this.#s.options.ackWait;
    // AMQP 1.0 has no ack deadline: the member keeps the clock and, when it runs out, retries the delivery itself.
    const startClock = (): void => {
      clearTimeout(held.timer);
      held.timer = setTimeout(() => void this.#settle(held, retry).catch(() => undefined), ackWait);
      held.timer.unref();
    };
    startClock();
    this.#s.onDelivery({
      message: decoded.message,
      attempt,
      ack: () => this.#settle(held, async () => outcome(delivery, 'accept')),
      nack: () => this.#settle(held, retry),
      deadLetter: (error: WireError) =>
        this.#settle(held, async () => {
          if (!this.#current(held)) return;
          await this.#s.connection.send(
            this.#s.profile.deadLetterAddress(this.#s.options.group),
            toAmqp(decoded.message, {
              deadLetter: {
                group: this.#s.options.group,
                pattern: this.#s.options.subject,
                error,
                attempts: attempt,
                time: Date.now(),
              },
            }),
          );
          outcome(delivery, 'reject', {
            condition: 'courier:dead-lettered',
            description: error.message.slice(0, 200),
          });
        }),
      touch: () => {
        if (!held.settled) startClock();
      },
    });
  }

  /** Whether the delivery belongs to the live link (or was pre-settled, so the broker forgot it anyway). */
  #current(held: Held): boolean {
    return held.amqp.remote_settled || held.epoch === this.#epoch;
  }

  async #settle(held: Held, action: () => Promise<void>): Promise<void> {
    if (held.settled) return;
    held.settled = true;
    clearTimeout(held.timer);
    this.#held.delete(held);
    try {
      // A delivery from before a reconnect: the broker redelivers it, so settling it would do nothing.
      if (this.#current(held)) await action();
    } finally {
      if (held.epoch === this.#epoch) this.#inFlight = Math.max(0, this.#inFlight - 1);
      this.#next();
    }
  }

  /** Hands out the next waiting delivery, or asks the broker for more. */
  #next(): void {
    while (this.#held.size < this.#s.options.maxInFlight) {
      const held = this.#waiting.shift();
      if (!held) break;
      if (this.#stopped || this.#closed) void this.#giveBack(held);
      else if (this.#current(held)) this.#handOut(held);
      else this.#dropStale(held);
    }
    this.#grant();
  }

  /** A waiting delivery from before a reconnect: the broker redelivers it. */
  #dropStale(held: Held): void {
    held.settled = true;
  }

  /** Returns an unhandled delivery to the queue, unchanged. */
  async #giveBack(held: Held): Promise<void> {
    held.settled = true;
    clearTimeout(held.timer);
    this.#held.delete(held);
    if (held.epoch === this.#epoch) this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (!held.amqp.remote_settled) {
      if (held.epoch === this.#epoch) outcome(held.amqp, 'release');
      return;
    }
    // Pre-settled: the broker no longer has it; put the same copy back (impossible once the connection is gone).
    if (!this.#s.connection.isUp) return;
    await this.#s.connection
      .send(
        this.#s.profile.targetAddress(this.#s.queue),
        toAmqp(held.decoded.message, { attempts: held.decoded.priorAttempts }),
      )
      .catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#waiting.splice(0).map((held) => this.#giveBack(held)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopped = true;
    this.#closed = true;
    const abandoned = [...this.#waiting.splice(0), ...this.#held];
    await Promise.all(abandoned.map((held) => this.#giveBack(held)));
    // Ending the member's session returns whatever the broker still counts as delivered to it.
    await this.#receiver.close();
    this.#s.onClosed();
  }
}
