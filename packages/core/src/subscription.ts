/**
 * A subscription: one member of a group, running the application's handler
 * for each delivery. Handler returns = ack; throws = retry after backoff
 * through the engine; after the last attempt, or at once for data that
 * cannot be decoded or fails its schema, the message goes to the group's
 * dead letters with the error. Gaps in the transport (native delay, nack
 * delay, key ordering) are filled here, as `Capabilities` describes.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Codecs } from './codec.js';
import { validate } from './contract.js';
import { type Duration, optionalMillis } from './duration.js';
import { CourierError, toCourierError } from './errors.js';
import { type MessageInfo, messageInfo } from './message.js';
import { type Middleware, runMiddleware } from './middleware/compose.js';
import type { RetryPolicy } from './retry-policy.js';
import type { ConsumeOptions, Consumer, Delivery, Transport } from './transport.js';

/** What a subscription handler gets beside the data. */
export interface MessageContext extends MessageInfo {
  /** 1 on the first delivery, 2 on the first retry, ... */
  readonly attempt: number;
  /** The group, or `undefined` for a subscription without one. */
  readonly group: string | undefined;
}

/** A subscription handler. Return (or resolve) to ack; throw to retry. */
export type Handler<T> = (data: T, ctx: MessageContext) => unknown;

/** Options of `close`. */
export interface CloseOptions {
  /** How long to wait for in-flight handlers. Default 30s. */
  timeout?: Duration;
}

/** Waits for every promise in `running`, including those added meanwhile, for at most `ms`. */
export async function settleAll(running: ReadonlySet<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  const all = (async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  })();
  await Promise.race([all, deadline]);
  clearTimeout(timer);
}

/** A running subscription or request handler. */
export interface Subscription {
  /** Resolves once the engine delivers to it; rejects when attaching failed. */
  readonly ready: Promise<void>;
  /**
   * Stops taking messages, lets in-flight handlers finish and settle, then
   * detaches. Handlers still running after `timeout` (default 30s) are left
   * behind: their messages go back to the group, to be delivered again.
   */
  close(options?: CloseOptions): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Everything a subscription needs, resolved by the Bus. */
export interface SubscriptionSpec {
  readonly transport: Transport;
  readonly codecs: Codecs;
  readonly middleware: readonly Middleware[];
  readonly consume: ConsumeOptions;
  /** The group as the user named it; `undefined` for a private subscription. */
  readonly userGroup: string | undefined;
  readonly schema: StandardSchemaV1 | undefined;
  readonly handler: Handler<unknown>;
  readonly retry: RetryPolicy;
  readonly onClosed: () => void;
  readonly onError: (error: unknown) => void;
}

/** A subscription of the Bus. */
export class BusSubscription implements Subscription {
  readonly ready: Promise<void>;
  readonly #spec: SubscriptionSpec;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #keyTails = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();
  #consumer: Consumer | undefined;
  #closing: Promise<void> | undefined;

  constructor(spec: SubscriptionSpec) {
    this.#spec = spec;
    this.ready = spec.transport
      .consume(spec.consume, (delivery) => this.#onDelivery(delivery))
      .then((consumer) => {
        this.#consumer = consumer;
      });
    this.ready.catch((error: unknown) => {
      spec.onError(error);
      spec.onClosed();
    });
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#drain(optionalMillis(options.timeout, 'timeout', 30_000));
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #drain(timeout: number): Promise<void> {
    this.#stop.abort();
    try {
      await this.ready;
    } catch {
      return; // never attached: nothing to drain
    }
    const consumer = this.#consumer as Consumer;
    await consumer.stop();
    await settleAll(this.#inFlight, timeout);
    await consumer.close();
    this.#spec.onClosed();
  }

  #onDelivery(delivery: Delivery): void {
    let run: Promise<void>;
    const key = delivery.message.key;
    if (key !== undefined && !this.#spec.transport.capabilities.keyOrdering) {
      // Fill: order a key inside this member; the engine cannot order it across members.
      const previous = this.#keyTails.get(key) ?? Promise.resolve();
      run = previous.then(() => this.#process(delivery));
      this.#keyTails.set(key, run);
      void run.then(() => {
        if (this.#keyTails.get(key) === run) this.#keyTails.delete(key);
      });
    } else {
      run = this.#process(delivery);
    }
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run));
  }

  async #process(delivery: Delivery): Promise<void> {
    const spec = this.#spec;
    const { capabilities } = spec.transport;
    const message = delivery.message;
    if (this.#stop.signal.aborted) return this.#settle(delivery.nack(0));
    const keepAlive = setInterval(() => delivery.touch(), Math.max(spec.consume.ackWait / 2, 1));
    keepAlive.unref();
    try {
      const early =
        capabilities.delay || message.deliverAt === undefined ? 0 : message.deliverAt - Date.now();
      if (early > 0) return await this.#retryLater(delivery, early);
      // Fill: a deferred early delivery counted as one of the engine's deliveries.
      const deferred = !capabilities.delay && message.deliverAt !== undefined && delivery.attempt > 1 ? 1 : 0;
      const attempt = delivery.attempt - deferred;

      let data: unknown;
      try {
        data = await validate(
          spec.schema,
          spec.codecs.forContentType(message.contentType).decode(message.payload),
          `data on ${message.subject}`,
        );
      } catch (error) {
        return await this.#settle(delivery.deadLetter(toCourierError(error).toWire()));
      }
      const ctx: MessageContext = { ...messageInfo(message), attempt, group: spec.userGroup };
      try {
        await runMiddleware(
          spec.middleware,
          { kind: 'consume', subject: message.subject, data, headers: message.headers },
          async () => spec.handler(data, ctx),
        );
      } catch (error) {
        const failure = toCourierError(error, 'HANDLER_ERROR');
        const final = attempt >= spec.retry.attempts || (error instanceof CourierError && !error.retryable);
        if (final) return await this.#settle(delivery.deadLetter(failure.toWire()));
        return await this.#retryLater(delivery, spec.retry.delayAfter(attempt));
      }
      await this.#settle(delivery.ack());
    } finally {
      clearInterval(keepAlive);
    }
  }

  async #retryLater(delivery: Delivery, delay: number): Promise<void> {
    if (this.#spec.transport.capabilities.nackDelay) return this.#settle(delivery.nack(delay));
    // Fill: wait here while the engine still owns the message (a crash loses nothing), then release it.
    const signal = this.#stop.signal;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      signal.addEventListener('abort', done);
    });
    await this.#settle(delivery.nack(0));
  }

  async #settle(settling: Promise<void>): Promise<void> {
    try {
      await settling;
    } catch (error) {
      // The engine redelivers what it did not record; report, do not crash.
      this.#spec.onError(error);
    }
  }
}
