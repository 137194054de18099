/**
 * The dead letters of each group, in a durable queue per group
 * (`<namespace>.dlq:<group>`), each message carrying its error, pattern,
 * attempts and time in `courier-*` headers. AMQP 0-9-1 cannot browse a
 * queue, so listing takes the messages with `basic.get` without acking and
 * closes the channel, which returns them in their order; replaying
 * publishes a fresh copy (attempts counted afresh) to the group's queue,
 * confirmed, before acking the dead letter. Operations of one transport run
 * one at a time; two processes listing the same group at the same instant
 * each see only part of it.
 */
import { CourierError, type DeadLetter, type DeadLetterStore, deadLetterFromHeaders } from '@courier/core';
import type { Channel, GetMessage } from 'amqplib';
import type { AmqpConnection } from './amqp-connection.js';
import { DeadLetterHeader, decodeMessage, encodeMessage, headerText } from './message-codec.js';
import type { Publisher } from './publisher.js';
import { deadLetterQueue, groupQueue } from './topology.js';

/** What the store needs from its transport. */
export interface DeadLetterStoreSpec {
  readonly connection: AmqpConnection;
  readonly publisher: Publisher;
  readonly namespace: string;
}

/** Reads a dead letter from its queue message. */
export function toDeadLetter(message: GetMessage, group: string): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const raw = decodeMessage(message);
  return {
    message: raw,
    ...deadLetterFromHeaders((name) => headerText(headers[name]), DeadLetterHeader, {
      group,
      pattern: raw.subject,
      time: Date.now(),
    }),
  };
}

/** The dead-letter store of one transport. */
export class AmqpDeadLetterStore implements DeadLetterStore {
  readonly #spec: DeadLetterStoreSpec;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(spec: DeadLetterStoreSpec) {
    this.#spec = spec;
  }

  list(group: string, options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    return this.#withQueue(group, [] as DeadLetter[], async (channel, queue) => {
      const listed: DeadLetter[] = [];
      while (listed.length < limit) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        listed.push(toDeadLetter(message, group));
      }
      return listed;
    });
  }

  replay(group: string, ids?: readonly string[]): Promise<number> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    return this.#withQueue(group, 0, async (channel, queue) => {
      let replayed = 0;
      for (;;) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        const entry = toDeadLetter(message, group);
        if (wanted && !wanted.has(entry.message.id)) continue;
        const { content, options } = encodeMessage(entry.message);
        const { returned } = await this.#spec.publisher.publish({
          exchange: '',
          routingKey: groupQueue(this.#spec.namespace, entry.group, entry.pattern),
          content,
          options,
          mandatory: true,
        });
        // A group whose queue is gone (a private subscription that ended): keep the dead letter.
        if (returned) continue;
        channel.ack(message);
        replayed++;
      }
      return replayed;
    });
  }

  purge(group: string, ids?: readonly string[]): Promise<number> {
    return this.#withQueue(group, 0, async (channel, queue) => {
      if (ids === undefined) return (await channel.purgeQueue(queue)).messageCount;
      const wanted = new Set(ids);
      let purged = 0;
      for (;;) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        if (!wanted.has(decodeMessage(message).id)) continue;
        channel.ack(message);
        purged++;
      }
      return purged;
    });
  }

  /**
   * Runs `work` on a channel of its own, after the previous operation; the
   * channel's close returns every message taken and not acked. A group
   * without a dead-letter queue yet has none: `none` is the answer.
   */
  #withQueue<T>(group: string, none: T, work: (channel: Channel, queue: string) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      const link = await this.#spec.connection.whenUp();
      const queue = deadLetterQueue(this.#spec.namespace, group);
      const channel = await link.model.createChannel();
      channel.on('error', () => undefined);
      try {
        try {
          await channel.checkQueue(queue);
        } catch (error) {
          if ((error as { code?: unknown }).code === 404) return none;
          throw error;
        }
        return await work(channel, queue);
      } catch (error) {
        if (error instanceof CourierError) throw error;
        throw new CourierError(
          'CONNECTION_CLOSED',
          `the dead letters of ${group} could not be read from RabbitMQ: ${(error as Error).message}; try again`,
          { cause: error },
        );
      } finally {
        await channel.close().catch(() => undefined);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
