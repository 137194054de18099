/**
 * The consumers of a `courier://` transport, by id: each one's SUBSCRIBE
 * until the broker answers SUBSCRIBED (or an ERROR for its id), its
 * deliveries, its stop and close (UNSUBSCRIBE until UNSUBSCRIBED), and its
 * subscription again on every new link. A dropped link releases the members
 * (the broker gives their deliveries to others); they wait for the next one.
 */
import type { ConsumeOptions, Consumer, CourierError, Delivery } from '@courier/core';
import { type Frame, FrameType } from '../protocol/frame-types.js';
import type { ClientConnection } from './client-connection.js';
import { courierDelivery, type SettlementSink } from './courier-delivery.js';

/** Options of a {@link ConsumerRegistry}. */
export interface ConsumerRegistryOptions {
  /** The transport's link: frames go out on it, and its epoch marks each delivery. */
  link: Pick<ClientConnection, 'send' | 'epoch'>;
  /** Where the deliveries' settlements go. */
  settlements: SettlementSink;
}

/** The deliveries of one DELIVER frame. */
export type Delivered = Extract<Frame, { type: typeof FrameType.DELIVER }>['deliveries'];

interface Member {
  options: ConsumeOptions;
  onDelivery(delivery: Delivery): void;
  stopped: boolean;
  attached: { resolve(): void; reject(error: unknown): void } | undefined;
  /** Subscribed once already: a private group re-made after a reconnect must not replay history. */
  subscribed: boolean;
}

/** See the module comment. */
export class ConsumerRegistry {
  readonly #link: Pick<ClientConnection, 'send' | 'epoch'>;
  readonly #settlements: SettlementSink;
  readonly #detaching = new Map<number, () => void>();
  readonly #members = new Map<number, Member>();

  constructor(options: ConsumerRegistryOptions) {
    this.#link = options.link;
    this.#settlements = options.settlements;
  }

  /**
   * Subscribes consumer `id` (unique among the transport's ids, since an
   * ERROR names only the id); resolves once the broker answers SUBSCRIBED.
   */
  async consume(
    id: number,
    options: ConsumeOptions,
    onDelivery: (delivery: Delivery) => void,
  ): Promise<Consumer> {
    const member: Member = { options, onDelivery, stopped: false, attached: undefined, subscribed: false };
    this.#members.set(id, member);
    await new Promise<void>((resolve, reject) => {
      member.attached = { resolve, reject };
      this.#subscribe(id, member);
    });
    const unsubscribe = (close: boolean): Promise<void> =>
      new Promise<void>((resolve) => {
        this.#detaching.set(id, resolve);
        if (!this.#link.send({ type: FrameType.UNSUBSCRIBE, consumer: id, close })) resolve();
      });
    return {
      stop: async () => {
        if (member.stopped) return;
        member.stopped = true;
        await unsubscribe(false);
      },
      close: async () => {
        if (!this.#members.delete(id)) return;
        await unsubscribe(true);
      },
    };
  }

  /** SUBSCRIBED: the consumer is attached. */
  subscribed(consumer: number): void {
    const member = this.#members.get(consumer);
    member?.attached?.resolve();
    if (member) {
      member.attached = undefined;
      member.subscribed = true;
    }
  }

  /** UNSUBSCRIBED: the stop or close is done. */
  unsubscribed(consumer: number): void {
    this.#detaching.get(consumer)?.();
    this.#detaching.delete(consumer);
  }

  /** DELIVER: hands each delivery to its consumer, bound to the current link. */
  deliver(consumer: number, deliveries: Delivered): void {
    const member = this.#members.get(consumer);
    if (!member) return;
    const epoch = this.#link.epoch;
    for (const delivered of deliveries)
      member.onDelivery(courierDelivery(this.#settlements, epoch, consumer, delivered));
  }

  /** An ERROR for `ref`: fails the consumer still attaching under that id; false when there is none. */
  fail(ref: number, error: CourierError): boolean {
    const member = this.#members.get(ref);
    if (!member?.attached) return false;
    this.#members.delete(ref);
    member.attached.reject(error);
    return true;
  }

  /** A new link: subscribes every consumer not stopped again. */
  resubscribe(): void {
    for (const [id, member] of this.#members) if (!member.stopped) this.#subscribe(id, member);
  }

  /** The link dropped: stops and closes in progress are done. */
  released(): void {
    for (const [id, resolve] of this.#detaching) {
      resolve(); // the broker released the member with the link
      this.#detaching.delete(id);
    }
  }

  /** Fails every consumer still attaching (the transport is closing for good). */
  rejectAll(error: CourierError): void {
    for (const member of this.#members.values()) member.attached?.reject(error);
  }

  #subscribe(id: number, member: Member): void {
    const o = member.options;
    this.#link.send({
      type: FrameType.SUBSCRIBE,
      consumer: id,
      subject: o.subject,
      group: o.group,
      durable: o.durable,
      deliverAll: o.deliver === 'all' && (o.durable || !member.subscribed),
      maxInFlight: o.maxInFlight,
      ackWait: o.ackWait,
      ...(typeof o.deliver === 'object' && (o.durable || !member.subscribed) ? { from: o.deliver } : {}),
    });
  }
}
