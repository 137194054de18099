/**
 * A connection's consumers: SUBSCRIBE opens a consumer on the connection's
 * `LocalTransport`, each of its deliveries goes out under a token of its
 * own, SETTLE frames settle them by that token, and UNSUBSCRIBE stops the
 * consumer or closes it. The connection checks the subject and the client's
 * rights before it hands a SUBSCRIBE here; this side is the mapping between
 * the client's consumer ids and tokens and the engine's consumers and
 * deliveries.
 */
import {
  type Consumer,
  type Delivery,
  type LocalTransport,
  toCourierError,
  type WireError,
} from '@courier/core';
import type { BrokerEngine } from '../engine/broker-engine.js';
import type { Registration } from '../engine/service-registry.js';
import { type Frame, FrameType, SettleKind, type Settlement } from '../protocol/frame-types.js';

const wire = (error: unknown): WireError => toCourierError(error).toWire();

/** See the module comment. */
export class ConsumerRelay {
  readonly #transport: LocalTransport<BrokerEngine>;
  readonly #send: (frame: Frame) => void;
  readonly #deliver: (consumer: number, token: number, delivery: Delivery) => void;
  readonly #registration: () => Registration | undefined;
  readonly #consumers = new Map<number, Consumer>();
  readonly #deliveries = new Map<number, Map<number, Delivery>>();
  readonly #settling = new Set<Promise<void>>();
  #nextToken = 0;

  /**
   * `deliver` sends a delivery to the client under its consumer id and token;
   * `registration` is the connection's entry in the service registry, once it has one.
   */
  constructor(options: {
    transport: LocalTransport<BrokerEngine>;
    send: (frame: Frame) => void;
    deliver: (consumer: number, token: number, delivery: Delivery) => void;
    registration: () => Registration | undefined;
  }) {
    this.#transport = options.transport;
    this.#send = options.send;
    this.#deliver = options.deliver;
    this.#registration = options.registration;
  }

  /** Whether a delivery sent under `token` is still unsettled and its consumer open. */
  live(consumer: number, token: number): boolean {
    return this.#deliveries.get(consumer)?.has(token) === true;
  }

  /** Resolves once the nacks and dead letters settled so far have landed (or failed). */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.#settling]);
  }

  /** Forgets every unsettled delivery: the connection has gone, and its transport took them back. */
  release(): void {
    this.#deliveries.clear();
  }

  /** Opens a consumer, answering SUBSCRIBED, or an ERROR for the consumer id. */
  subscribe(frame: Extract<Frame, { type: typeof FrameType.SUBSCRIBE }>): void {
    const { consumer: id } = frame;
    const tokens = new Map<number, Delivery>();
    this.#deliveries.set(id, tokens);
    this.#transport
      .consume(
        {
          subject: frame.subject,
          group: frame.group,
          durable: frame.durable,
          deliver: frame.from ?? (frame.deliverAll ? 'all' : 'new'),
          maxInFlight: Math.max(frame.maxInFlight, 1),
          ackWait: Math.max(frame.ackWait, 10),
        },
        (delivery) => {
          const token = ++this.#nextToken >>> 0;
          tokens.set(token, delivery);
          this.#deliver(id, token, delivery);
        },
      )
      .then(
        (consumer) => {
          this.#consumers.set(id, consumer);
          this.#registration()?.subscriptions.add(`${frame.group} ${frame.subject}`);
          this.#send({ type: FrameType.SUBSCRIBED, consumer: id });
        },
        (error: unknown) => this.#send({ type: FrameType.ERROR, ref: id, error: wire(error) }),
      );
  }

  /** Acks, nacks, dead-letters or touches one delivery by its token. */
  settle(s: Settlement): void {
    const tokens = this.#deliveries.get(s.consumer);
    const delivery = tokens?.get(s.token);
    if (!tokens || !delivery) return; // a settle for a delivery the engine already took back
    if (s.kind === SettleKind.TOUCH) {
      delivery.touch();
      return;
    }
    tokens.delete(s.token);
    const failed = (error: unknown): void =>
      this.#send({ type: FrameType.ERROR, ref: s.consumer, error: wire(error) });
    if (s.kind === SettleKind.ACK) {
      delivery.ack().then(undefined, failed);
      return;
    }
    // Nacks (one past the group's max deliveries dead-letters) and dead letters are followed, so a
    // DEAD_LETTERS request after them sees them; an ack changes no dead letter.
    let done: Promise<void>;
    if (s.kind === SettleKind.NACK) done = delivery.nack(s.delay);
    else if (s.kind === SettleKind.DEAD) done = delivery.deadLetter(s.error);
    else return;
    const settled = done.then(undefined, failed);
    this.#settling.add(settled);
    void settled.finally(() => this.#settling.delete(settled));
  }

  /** Stops a consumer (`close` false) or closes it, then answers UNSUBSCRIBED. */
  unsubscribe(id: number, close: boolean): void {
    const consumer = this.#consumers.get(id);
    const finish = (): void => this.#send({ type: FrameType.UNSUBSCRIBED, consumer: id });
    if (!consumer) {
      finish();
      return;
    }
    if (!close) {
      void consumer.stop().then(finish);
      return;
    }
    this.#consumers.delete(id);
    this.#deliveries.delete(id);
    void consumer.close().then(finish);
  }
}
