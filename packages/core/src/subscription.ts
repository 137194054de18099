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
import type { MessageInfo, RawMessage } from './message.js';
import { type Middleware, runMiddleware } from './middleware/compose.js';
import { type Observer, UNOBSERVED } from './observability/observer.js';
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

const RESOLVED = Promise.resolve();

/** What a handler gets beside the data (one object literal: no spread per delivery). */
function contextOf(message: RawMessage, attempt: number, group: string | undefined): MessageContext {
  const ctx: MessageContext & { key?: string } = {
    id: message.id,
    subject: message.subject,
    contentType: message.contentType,
    headers: message.headers,
    time: new Date(message.time),
    source: message.source,
    attempt,
    group,
  };
  if (message.key !== undefined) ctx.key = message.key;
  return ctx;
}

/** Whether a handler returned something to wait for. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
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
  /** Spans, metrics and log lines around each handler run. */
  readonly observer: Observer;
  readonly onClosed: () => void;
  readonly onError: (error: unknown) => void;
}

/** A subscription of the Bus. */
export class BusSubscription implements Subscription {
  readonly ready: Promise<void>;
  readonly #spec: SubscriptionSpec;
  readonly #inFlight = new Set<Promise<void>>();
  /** Deliveries from arrival until their run ends: the engine's ack deadline of each is extended while here. */
  readonly #live = new Set<Delivery>();
  /** One timer for every live delivery's keep-alive; stopped when a sweep finds none. */
  #keepAlive: NodeJS.Timeout | undefined;
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
    // Wakes retries waiting in this process; deliveries arriving from now on are left unsettled.
    this.#stop.abort();
    try {
      await this.ready;
    } catch {
      return; // never attached: nothing to drain
    }
    const consumer = this.#consumer as Consumer;
    await this.#settle(() => consumer.stop());
    await settleAll(this.#inFlight, timeout);
    // Handlers still running are abandoned: stop extending their deadlines so the engine can give them to others.
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    this.#live.clear();
    await this.#settle(() => consumer.close());
    this.#spec.onClosed();
  }

  #onDelivery(delivery: Delivery): void {
    // Closing the consumer gives an unsettled delivery back to the group.
    if (this.#stop.signal.aborted) return;
    const spec = this.#spec;
    // Touch from arrival, not from the handler's start: a delivery queued behind its key must not expire.
    this.#live.add(delivery);
    this.#keepAlive ??= this.#startKeepAlive();
    const { key } = delivery.message;
    // Fill: order a key inside this member (the engine cannot order it across members).
    const fillKey = key !== undefined && !spec.transport.capabilities.keyOrdering ? key : undefined;
    // Started after the engine's turn, not inside it (a key's next message after the one before it).
    const previous = (fillKey !== undefined && this.#keyTails.get(fillKey)) || RESOLVED;
    const started = previous.then(() => this.#process(delivery, fillKey !== undefined));
    const ended = (): void => {
      this.#live.delete(delivery);
      this.#inFlight.delete(run);
      if (fillKey !== undefined && this.#keyTails.get(fillKey) === run) this.#keyTails.delete(fillKey);
    };
    const run: Promise<void> = started.then(ended, (error: unknown) => {
      ended();
      spec.onError(error);
    });
    if (fillKey !== undefined) this.#keyTails.set(fillKey, run);
    this.#inFlight.add(run);
  }

  /**
   * Every half ack wait, touches each live delivery, so none expires sooner
   * than half an ack wait after its last touch (or arrival).
   */
  #startKeepAlive(): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        if (this.#live.size === 0) {
          clearInterval(timer);
          this.#keepAlive = undefined;
          return;
        }
        for (const delivery of this.#live) {
          try {
            delivery.touch();
          } catch (error) {
            this.#spec.onError(error);
          }
        }
      },
      Math.max(this.#spec.consume.ackWait / 2, 1),
    );
    timer.unref();
    return timer;
  }

  /**
   * Runs the handler for one delivery and settles it. With `holdRetries`
   * (the key-ordering fill), retries run here, in the key's place, so that
   * later messages of the key cannot overtake a failed one.
   */
  async #process(delivery: Delivery, holdRetries: boolean): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const spec = this.#spec;
    const { capabilities } = spec.transport;
    const message = delivery.message;
    const early = capabilities.delay || message.deliverAt === undefined ? 0 : message.deliverAt - Date.now();
    if (early > 0) return this.#retryLater(delivery, early);
    // Fill: a deferred early delivery counted as one of the engine's deliveries.
    const deferred = !capabilities.delay && message.deliverAt !== undefined && delivery.attempt > 1 ? 1 : 0;
    let attempt = delivery.attempt - deferred;

    const receipt = (n: number) => ({ group: spec.userGroup, pattern: spec.consume.subject, attempt: n });
    let observed = spec.observer.receive(message, receipt(attempt));
    let data: unknown;
    try {
      const decoded = spec.codecs.forContentType(message.contentType).decode(message.payload);
      data =
        spec.schema === undefined
          ? decoded
          : await validate(spec.schema, decoded, `data on ${message.subject}`);
    } catch (error) {
      const failure = toCourierError(error);
      observed.settle('dead_letter', failure);
      return this.#settle(() => delivery.deadLetter(failure.toWire()));
    }
    const call = { kind: 'consume' as const, subject: message.subject, data, headers: message.headers };
    for (;;) {
      const ctx = contextOf(message, attempt, spec.userGroup);
      try {
        if (observed === UNOBSERVED && spec.middleware.length === 0) {
          // Nothing around the handler: call it directly, and wait only when it returns a promise.
          const result = spec.handler(data, ctx);
          if (isThenable(result)) await result;
        } else {
          await observed.run(() => runMiddleware(spec.middleware, call, async () => spec.handler(data, ctx)));
        }
      } catch (error) {
        const failure = toCourierError(error, 'HANDLER_ERROR');
        const final = attempt >= spec.retry.attempts || (error instanceof CourierError && !error.retryable);
        if (final) {
          observed.settle('dead_letter', failure);
          return this.#settle(() => delivery.deadLetter(failure.toWire()));
        }
        const delay = spec.retry.delayAfter(attempt);
        observed.settle('retry', failure, { retryIn: delay });
        if (!holdRetries) return this.#retryLater(delivery, delay);
        if (!(await this.#pause(delay))) return; // closing: the group gets it back unsettled
        attempt++;
        observed = spec.observer.receive(message, receipt(attempt));
        continue;
      }
      observed.settle('ack');
      try {
        await delivery.ack();
      } catch (error) {
        spec.onError(error);
      }
      return;
    }
  }

  async #retryLater(delivery: Delivery, delay: number): Promise<void> {
    if (this.#spec.transport.capabilities.nackDelay) return this.#settle(() => delivery.nack(delay));
    // Fill: wait here while the engine still owns the message (a crash loses nothing), then release it.
    if (await this.#pause(delay)) await this.#settle(() => delivery.nack(0));
  }

  /** Waits `ms`; resolves `false` early when the subscription starts closing. */
  #pause(ms: number): Promise<boolean> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(!signal.aborted);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  /** Runs a settle or control call; failures are reported, never thrown (the engine redelivers what it did not record). */
  async #settle(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.#spec.onError(error);
    }
  }
}
