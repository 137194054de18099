/**
 * Declarations on RabbitMQ, made once per connection and cached: the three
 * exchanges of a namespace, the shared wait queues (one per stage and delay
 * bucket) and the groups' dead-letter queues. Wait queues delete themselves
 * when idle, so a cached declaration is renewed well before that can happen.
 */
import type { Link } from './amqp-connection.js';
import {
  deadLetterQueue,
  type ExchangeNames,
  WAIT_QUEUE_IDLE,
  type WaitStage,
  waitBinding,
  waitQueue,
  waitQueueArguments,
} from './topology.js';

// Renew a wait queue's declaration this often: far inside its idle expiry.
const RENEW = Math.min(60_000, WAIT_QUEUE_IDLE / 4);

/** Declares and remembers what has been declared on which link. */
export class Declarations {
  readonly #namespace: string;
  readonly #exchanges: ExchangeNames;
  #epoch = -1;
  readonly #declared = new Map<string, { at: number; done: Promise<void> }>();

  constructor(namespace: string, exchanges: ExchangeNames) {
    this.#namespace = namespace;
    this.#exchanges = exchanges;
  }

  /** Declares the exchanges: events and requests are topic exchanges, waits a headers exchange. */
  async exchanges(link: Link): Promise<void> {
    const channel = await link.admin();
    await channel.assertExchange(this.#exchanges.events, 'topic', { durable: true });
    await channel.assertExchange(this.#exchanges.rpc, 'topic', { durable: true });
    await channel.assertExchange(this.#exchanges.wait, 'headers', { durable: true });
  }

  /** Declares (or renews) the wait queue of a stage and bucket, bound to the wait exchange; returns its name. */
  async waitQueue(link: Link, stage: WaitStage, bucket: number): Promise<string> {
    const name = waitQueue(this.#namespace, stage, bucket);
    await this.#once(link, name, RENEW, async (channel) => {
      await channel.assertQueue(name, {
        durable: true,
        arguments: waitQueueArguments(this.#exchanges, stage, bucket),
      });
      await channel.bindQueue(name, this.#exchanges.wait, '', waitBinding(stage, bucket));
    });
    return name;
  }

  /** Declares a group's dead-letter queue (durable, classic, so that listing keeps its order); returns its name. */
  async deadLetterQueue(link: Link, group: string): Promise<string> {
    const name = deadLetterQueue(this.#namespace, group);
    await this.#once(link, name, Number.POSITIVE_INFINITY, async (channel) => {
      await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    });
    return name;
  }

  /** Forgets a declaration (its queue turned out to be gone), so the next use declares it again. */
  forget(name: string): void {
    this.#declared.delete(name);
  }

  async #once(
    link: Link,
    name: string,
    renewAfter: number,
    declare: (channel: Awaited<ReturnType<Link['admin']>>) => Promise<void>,
  ): Promise<void> {
    if (link.epoch !== this.#epoch) {
      this.#declared.clear();
      this.#epoch = link.epoch;
    }
    const now = Date.now();
    const known = this.#declared.get(name);
    if (known && now - known.at < renewAfter) return known.done;
    const done = link.admin().then(declare);
    this.#declared.set(name, { at: now, done });
    done.catch(() => {
      if (this.#declared.get(name)?.done === done) this.#declared.delete(name);
    });
    return done;
  }
}
