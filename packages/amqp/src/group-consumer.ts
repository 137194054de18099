/**
 * One member of a group: its own channel, with prefetch = maxInFlight, on
 * the group's queue. Settlements map onto AMQP: ack is `basic.ack`; a nack
 * without delay requeues (`basic.nack`, the quorum queue counts it in
 * `x-delivery-count`); a nack with a delay republishes a copy, carrying the
 * delivery count, into the shared retry queue for that delay (whose TTL
 * dead-letters it back to this queue) and acks the original only once the
 * copy is confirmed; a dead letter is published, confirmed, to the group's
 * dead-letter queue before the original is acked. So a crash between the
 * two steps delivers the message again rather than losing it.
 *
 * A delivery neither settled nor touched within `ackWait` is requeued by
 * the member itself (RabbitMQ's own `consumer_timeout` would close the whole
 * channel); the Bus touches deliveries while their handlers run.
 *
 * After a reconnect the member declares its queue again and resumes. A
 * delivery from a channel that has since closed cannot be settled: RabbitMQ
 * already returned it to the queue, and settling it rejects with
 * `CONNECTION_CLOSED`.
 */
import { type Consumer, CourierError, type Delivery, deadLetterHeaders, type WireError } from '@courier/core';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpConnection } from './amqp-connection.js';
import { ConsumerChannel } from './consumer-channel.js';
import type { Declarations } from './declarations.js';
import { DeadLetterHeader, decodeMessage, deliveryCount, encodeMessage, H } from './message-codec.js';
import type { Publisher } from './publisher.js';
import { delayBucket, type ExchangeNames, groupQueueArguments } from './topology.js';

/** What a member needs from its transport. */
export interface GroupConsumerSpec {
  readonly connection: AmqpConnection;
  readonly publisher: Publisher;
  readonly declarations: Declarations;
  readonly exchanges: ExchangeNames;
  /** The prefix of the namespace's retry queues, for `x-death`. */
  readonly retryPrefix: string;
  readonly queue: string;
  readonly bindingKey: string;
  readonly group: string;
  readonly pattern: string;
  readonly durable: boolean;
  readonly maxInFlight: number;
  /** Ms after which an unsettled, untouched delivery goes back to the queue. */
  readonly ackWait: number;
  readonly onDelivery: (delivery: Delivery) => void;
}

/** A member of a group on its own channel. */
export class GroupConsumer implements Consumer {
  readonly #spec: GroupConsumerSpec;
  /** Its channel, which the transport attaches to the connection. */
  readonly consumerChannel: ConsumerChannel;
  #stopped = false;

  constructor(spec: GroupConsumerSpec) {
    this.#spec = spec;
    const { queue, durable, exchanges, bindingKey, maxInFlight } = spec;
    this.consumerChannel = new ConsumerChannel({
      connection: spec.connection,
      queue,
      declare: async (channel) => {
        await channel.assertQueue(queue, {
          durable,
          autoDelete: !durable,
          arguments: groupQueueArguments(durable),
        });
        await channel.bindQueue(queue, exchanges.events, bindingKey);
        await channel.prefetch(maxInFlight);
      },
      consuming: () => !this.#stopped,
      receive: (channel, amqp) => spec.onDelivery(this.#delivery(channel, amqp)),
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.consumerChannel.cancel();
  }

  async close(): Promise<void> {
    if (this.consumerChannel.closed) return;
    this.#stopped = true;
    this.consumerChannel.retire();
    await this.consumerChannel.close();
  }

  #delivery(channel: Channel, amqp: ConsumeMessage): Delivery {
    const spec = this.#spec;
    const message = decodeMessage(amqp);
    const attempt = deliveryCount(amqp, spec.retryPrefix);
    let settled = false;
    let expired = false;
    // RabbitMQ has no per-delivery deadline (its consumer_timeout closes the whole channel):
    // the member returns a delivery nobody settled or touched within ackWait itself.
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      expired = true;
      if (this.consumerChannel.channel === channel) channel.nack(amqp, false, true);
    }, spec.ackWait);
    timer.unref();
    const settle = async (what: string, work: () => Promise<void>): Promise<void> => {
      if (settled) {
        if (expired) throw late(message.id, what, spec.ackWait);
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (this.consumerChannel.channel !== channel) throw stale(message.id, what);
      await work();
    };
    return {
      message,
      attempt,
      ack: () =>
        settle('ack', async () => {
          channel.ack(amqp);
        }),
      nack: (delay) =>
        settle('nack', async () => {
          if (!(delay > 0)) {
            channel.nack(amqp, false, true);
            return;
          }
          await this.#republishLater(message, attempt, delay);
          if (this.consumerChannel.channel !== channel) throw stale(message.id, 'nack');
          channel.ack(amqp);
        }),
      deadLetter: (error: WireError) =>
        settle('deadLetter', async () => {
          await this.#toDeadLetters(message, attempt, error);
          if (this.consumerChannel.channel !== channel) throw stale(message.id, 'deadLetter');
          channel.ack(amqp);
        }),
      touch: () => {
        if (!settled) timer.refresh();
      },
    };
  }

  /** Sends a copy through the retry queue for `delay`, carrying the delivery count, and waits for the confirm. */
  async #republishLater(
    message: ReturnType<typeof decodeMessage>,
    attempt: number,
    delay: number,
  ): Promise<void> {
    const spec = this.#spec;
    const bucket = delayBucket(delay);
    for (let tries = 0; ; tries++) {
      const link = await spec.connection.whenUp();
      const queue = await spec.declarations.waitQueue(link, 'retry', bucket);
      const { content, options } = encodeMessage(message, {
        [H.deliveries]: String(attempt),
        [H.stage]: 'retry',
        [H.bucket]: String(bucket),
      });
      const { returned } = await spec.publisher.publish({
        exchange: spec.exchanges.wait,
        routingKey: spec.queue,
        content,
        options,
        mandatory: true,
      });
      if (!returned) return;
      // The wait queue expired between its declaration and this publish: declare it again.
      spec.declarations.forget(queue);
      if (tries >= 2) throw new CourierError('INTERNAL', `the retry queue ${queue} keeps refusing messages`);
    }
  }

  async #toDeadLetters(
    message: ReturnType<typeof decodeMessage>,
    attempts: number,
    error: WireError,
  ): Promise<void> {
    const spec = this.#spec;
    for (let tries = 0; ; tries++) {
      const link = await spec.connection.whenUp();
      const queue = await spec.declarations.deadLetterQueue(link, spec.group);
      const { content, options } = encodeMessage(
        message,
        deadLetterHeaders(
          { group: spec.group, pattern: spec.pattern, error, attempts, time: Date.now() },
          DeadLetterHeader,
        ),
      );
      const { returned } = await spec.publisher.publish({
        exchange: '',
        routingKey: queue,
        content,
        options,
        mandatory: true,
      });
      if (!returned) return;
      spec.declarations.forget(queue);
      if (tries >= 2)
        throw new CourierError('INTERNAL', `the dead-letter queue ${queue} keeps refusing messages`);
    }
  }
}

function late(id: string, what: string, ackWait: number): CourierError {
  return new CourierError(
    'TIMEOUT',
    `cannot ${what} message ${id}: it was neither settled nor touched within ackWait (${ackWait} ms), so it went back to its group and will be delivered again`,
  );
}

function stale(id: string, what: string): CourierError {
  return new CourierError(
    'CONNECTION_CLOSED',
    `cannot ${what} message ${id}: its channel closed after it was delivered (the connection to RabbitMQ dropped, or the consumer was closed), so RabbitMQ has returned it to its group and will deliver it again`,
  );
}
