/**
 * The Bus: what applications use. It validates against contracts, encodes,
 * runs middleware, and drives a transport; it retries and dead-letters
 * subscriptions, fills the gaps a transport declares where it can, and
 * refuses with `UNSUPPORTED` where it cannot.
 */
import { hostname } from 'node:os';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { type Codec, type CodecName, Codecs } from './codec.js';
import type {
  EventContract,
  EventInput,
  EventOutput,
  RequestInput,
  RequestOutput,
  ResponseInput,
  ResponseOutput,
  RpcContract,
} from './contract.js';
import { validate } from './contract.js';
import { type DeadLetters, deadLetters } from './dead-letters.js';
import { type Duration, optionalMillis } from './duration.js';
import { CourierError } from './errors.js';
import { newId } from './id.js';
import { assertSize, type Headers } from './message.js';
import { type Middleware, runMiddleware } from './middleware/compose.js';
import { wholeNumber } from './option-checks.js';
import { encodeData, type Outgoing, outgoingMessage } from './outgoing.js';
import { BusRequestHandler, type RequestHandler } from './request-handler.js';
import { type RetryOptions, retryPolicy } from './retry-policy.js';
import { assertSubject } from './subject.js';
import {
  BusSubscription,
  type CloseOptions,
  type Handler,
  type Subscription,
  settleAll,
} from './subscription.js';
import type { Capability, DeliverPolicy, Transport } from './transport.js';

/** Options of a Bus. */
export interface BusOptions {
  /** The service this process is; the `source` of what it publishes. Default `app`. */
  service?: string;
  /** This instance of the service. Default `<hostname>-<pid>`. */
  instance?: string;
  /** The codec for outgoing data. Default `json`; `Uint8Array` data always goes raw. */
  codec?: CodecName | Codec;
  /** Extra codecs, for content types beyond JSON, MessagePack, raw bytes and text. */
  codecs?: readonly Codec[];
  /** Middleware around every publish, request, consume and handle, outermost first. */
  middleware?: readonly Middleware[];
  /** Default request timeout. Default 5s. */
  requestTimeout?: Duration;
  /** Called with errors that have no caller to reject (a failed ack, a subscription that could not attach). */
  onError?: (error: unknown) => void;
}

/** Options of `publish`. */
export interface PublishOptions {
  /** The message id, the dedup key. Default: a new UUIDv7. */
  id?: string;
  /** Messages with the same key are handled one at a time, in publish order, inside each group. */
  key?: string;
  headers?: Headers;
  /** Not delivered before this much time has passed. */
  delay?: Duration;
  /** Not delivered before this time. */
  at?: Date | number;
  /** The codec for this message. */
  codec?: CodecName | Codec;
}

/** What a resolved publish returns. */
export interface PublishReceipt {
  id: string;
}

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * A durable group: every group gets each message once, and the members of
   * a group share the work. Without one, the subscription is private and
   * ends with `close()`.
   */
  group?: string;
  /** Handlers running at once in this member. Default 1. */
  concurrency?: number;
  /** Retries before the dead-letter queue. Default 5 attempts, exponential from 1s to 1m. */
  retry?: RetryOptions;
  /** Where a new group starts: `new` (default) or `all` retained messages. An existing group resumes. */
  deliver?: DeliverPolicy;
  /** How long the engine waits for a settle before it redelivers; extended while the handler runs. Default 30s. */
  ackWait?: Duration;
}

/** Options of `request`. */
export interface RequestOptions {
  /** Default: the Bus's `requestTimeout`. */
  timeout?: Duration;
  headers?: Headers;
  codec?: CodecName | Codec;
}

type AnyEvent = EventContract<unknown, unknown>;
type AnyRpc = RpcContract<unknown, unknown, unknown, unknown>;

/** The ack wait of a subscription: at least 10 ms, or the engine would redeliver while the handler starts. */
function ackWaitOf(value: Duration | undefined): number {
  const ms = optionalMillis(value, 'ackWait', 30_000);
  if (ms < 10)
    throw new CourierError(
      'INVALID_OPTION',
      `ackWait must be at least 10ms, got ${ms} ms; the default is 30s`,
    );
  return atMostLongestTimer(ms, 'ackWait');
}

/** Timeouts and ack waits are timers: at most 2^31-1 ms (24.8 days). Delays may be longer. */
function atMostLongestTimer(ms: number, name: string): number {
  if (ms > 2 ** 31 - 1) {
    throw new CourierError(
      'INVALID_OPTION',
      `${name} of ${ms} ms is longer than the longest supported, 24 days; use a shorter one`,
    );
  }
  return ms;
}

function unsupported(transport: Transport, capability: Capability, what: string): CourierError {
  return new CourierError(
    'UNSUPPORTED',
    `${what} needs the ${capability} capability, which the ${transport.engine} engine lacks and the Bus cannot fill; use another engine or do without it`,
    { data: { capability, engine: transport.engine } },
  );
}

/** The application's connection to Courier. Create it with `connect`. */
export class Bus {
  readonly transport: Transport;
  readonly service: string;
  readonly instance: string;
  readonly #codecs: Codecs;
  readonly #outgoing: Outgoing;
  readonly #middleware: readonly Middleware[];
  readonly #requestTimeout: number;
  readonly #onError: (error: unknown) => void;
  readonly #running = new Set<Subscription>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #attaching = new Set<Promise<void>>();
  #state: 'open' | 'draining' | 'closed' = 'open';
  #closing: Promise<void> | undefined;

  constructor(transport: Transport, options: BusOptions = {}) {
    this.transport = transport;
    this.service = options.service ?? 'app';
    this.instance = options.instance ?? `${hostname()}-${process.pid}`;
    this.#codecs = new Codecs(options.codecs);
    this.#outgoing = {
      codecs: this.#codecs,
      codec: this.#codecs.resolve(options.codec ?? 'json'),
      source: this.service,
    };
    this.#middleware = options.middleware ?? [];
    this.#requestTimeout = optionalMillis(options.requestTimeout, 'requestTimeout', 5000);
    this.#onError = options.onError ?? ((error) => console.error('[courier]', error));
    this.deadLetters = deadLetters(() => this.#deadLetterStore(), this.#codecs);
  }

  /** Publishes an event; resolves once the engine holds it durably. */
  publish<C extends AnyEvent>(
    contract: C,
    data: EventInput<C>,
    options?: PublishOptions,
  ): Promise<PublishReceipt>;
  publish(subject: string, data: unknown, options?: PublishOptions): Promise<PublishReceipt>;
  publish(target: AnyEvent | string, data: unknown, options: PublishOptions = {}): Promise<PublishReceipt> {
    return this.#track(async () => {
      const { subject, schema } =
        typeof target === 'string' ? { subject: target, schema: undefined } : target;
      assertSubject(subject, { wildcards: false });
      await validate(schema, data, `data for ${subject}`);
      const message = outgoingMessage(this.#outgoing, subject, data, options);
      assertSize(message, this.transport.capabilities.maxPayload, this.transport.engine);
      const call = { kind: 'publish' as const, subject, data, headers: message.headers };
      await runMiddleware(this.#middleware, call, () => this.transport.publish(message));
      return { id: message.id };
    });
  }

  /**
   * Runs `handler` for every message on a subject or pattern. Returns at
   * once; `ready` resolves when the engine delivers to it.
   */
  subscribe<C extends AnyEvent>(
    contract: C,
    handler: Handler<EventOutput<C>>,
    options?: SubscribeOptions,
  ): Subscription;
  subscribe<T = unknown>(subject: string, handler: Handler<T>, options?: SubscribeOptions): Subscription;
  subscribe(
    target: AnyEvent | string,
    handler: Handler<never>,
    options: SubscribeOptions = {},
  ): Subscription {
    this.#assertAccepting();
    const { subject, schema } = typeof target === 'string' ? { subject: target, schema: undefined } : target;
    assertSubject(subject, { wildcards: true });
    const { capabilities } = this.transport;
    if (options.group !== undefined && (typeof options.group !== 'string' || options.group === '')) {
      throw new CourierError(
        'INVALID_OPTION',
        `group must be a non-empty string, got ${JSON.stringify(options.group)}`,
      );
    }
    const deliver = options.deliver ?? 'new';
    if (deliver !== 'new' && deliver !== 'all') {
      throw new CourierError(
        'INVALID_OPTION',
        `deliver must be 'new' or 'all', got ${JSON.stringify(deliver)}`,
      );
    }
    if (deliver === 'all' && !capabilities.replay)
      throw unsupported(this.transport, 'replay', "deliver: 'all'");
    if (!capabilities.deadLetter)
      throw unsupported(
        this.transport,
        'deadLetter',
        'a subscription (failed messages need a dead-letter queue)',
      );
    const concurrency = wholeNumber(options.concurrency, 'concurrency', { min: 1, fallback: 1 });
    const subscription: BusSubscription = new BusSubscription({
      transport: this.transport,
      codecs: this.#codecs,
      middleware: this.#middleware,
      consume: {
        subject,
        group: options.group ?? `_private.${this.service}.${newId()}`,
        durable: options.group !== undefined,
        deliver,
        maxInFlight: concurrency,
        ackWait: ackWaitOf(options.ackWait),
      },
      userGroup: options.group,
      schema,
      handler: handler as Handler<unknown>,
      retry: retryPolicy(options.retry),
      onClosed: () => this.#running.delete(subscription),
      onError: this.#onError,
    });
    this.#started(subscription);
    return subscription;
  }

  /** Sends a request to one handler of the subject and resolves with its reply. */
  request<C extends AnyRpc>(
    contract: C,
    data: RequestInput<C>,
    options?: RequestOptions,
  ): Promise<ResponseOutput<C>>;
  request<T = unknown>(subject: string, data: unknown, options?: RequestOptions): Promise<T>;
  request(target: AnyRpc | string, data: unknown, options: RequestOptions = {}): Promise<unknown> {
    return this.#track(async () => {
      const { subject, request, response } =
        typeof target === 'string' ? { subject: target, request: undefined, response: undefined } : target;
      assertSubject(subject, { wildcards: false });
      if (!this.transport.capabilities.request) throw unsupported(this.transport, 'request', 'request');
      await validate(request, data, `request to ${subject}`);
      const timeout = atMostLongestTimer(
        optionalMillis(options.timeout, 'timeout', this.#requestTimeout),
        'timeout',
      );
      const message = outgoingMessage(this.#outgoing, subject, data, options);
      assertSize(message, this.transport.capabilities.maxPayload, this.transport.engine);
      const call = { kind: 'request' as const, subject, data, headers: message.headers };
      const reply = await runMiddleware(this.#middleware, call, () =>
        this.transport.request(message, { timeout }),
      );
      const answer = reply as Awaited<ReturnType<Transport['request']>>;
      if (!answer.ok) throw CourierError.fromWire(answer.error);
      const decoded = this.#codecs.forContentType(answer.contentType).decode(answer.payload);
      return validate(response as StandardSchemaV1 | undefined, decoded, `response from ${subject}`);
    });
  }

  /** Answers requests on a subject or pattern; exactly one handler gets each request. */
  handle<C extends AnyRpc>(
    contract: C,
    handler: RequestHandler<RequestOutput<C>, ResponseInput<C>>,
  ): Subscription;
  handle(subject: string, handler: RequestHandler<never, unknown>): Subscription;
  handle(target: AnyRpc | string, handler: RequestHandler<never, unknown>): Subscription {
    this.#assertAccepting();
    const { subject, request, response } =
      typeof target === 'string' ? { subject: target, request: undefined, response: undefined } : target;
    assertSubject(subject, { wildcards: true });
    if (!this.transport.capabilities.request) throw unsupported(this.transport, 'request', 'handle');
    const handle: BusRequestHandler = new BusRequestHandler({
      transport: this.transport,
      codecs: this.#codecs,
      middleware: this.#middleware,
      subject,
      request,
      response,
      handler: handler as RequestHandler<unknown, unknown>,
      encode: (data) => encodeData(this.#outgoing, data, undefined),
      onClosed: () => this.#running.delete(handle),
      onError: this.#onError,
    });
    this.#started(handle);
    return handle;
  }

  /** The groups' dead letters: list, replay, purge. Rejects with `UNSUPPORTED` on an engine without them. */
  readonly deadLetters: DeadLetters;

  /**
   * Drains and closes: no new publishes, requests or deliveries; in-flight
   * handlers finish and settle, in-flight publishes and requests complete;
   * then the transport closes. Work still running after `timeout` (default
   * 30s) is abandoned: unsettled messages go back to their groups.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const timeout = optionalMillis(options.timeout, 'timeout', 30_000);
    this.#closing ??= (async () => {
      // Draining handlers may still publish and request (an invoice after a charge); new subscriptions may not.
      this.#state = 'draining';
      await Promise.allSettled([...this.#running].map((running) => running.close({ timeout })));
      this.#state = 'closed';
      await settleAll(this.#pending, timeout);
      await this.transport.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertAccepting(): void {
    if (this.#state !== 'open') {
      throw new CourierError(
        'CONNECTION_CLOSED',
        'the bus is closing or closed; connect again to subscribe or handle',
      );
    }
  }

  /** Tracks a subscription or handler until it closes, and its attachment until it is ready. */
  #started(running: Subscription): void {
    this.#running.add(running);
    const attached = running.ready.then(
      () => undefined,
      () => undefined,
    );
    this.#attaching.add(attached);
    void attached.then(() => this.#attaching.delete(attached));
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#state === 'closed') {
      return Promise.reject(
        new CourierError('CONNECTION_CLOSED', 'the bus is closed; connect again to send or receive'),
      );
    }
    // Wait for this bus's own subscriptions and handlers to attach, so that `handle` then `request`
    // (or `subscribe` then `publish`) in one breath works on networked engines too.
    const attaching = this.#attaching.size > 0 ? Promise.all([...this.#attaching]) : undefined;
    const running = attaching ? attaching.then(work) : work();
    this.#pending.add(running);
    const forget = (): void => {
      this.#pending.delete(running);
    };
    running.then(forget, forget);
    return running;
  }

  #deadLetterStore() {
    const store = this.transport.deadLetters;
    if (!this.transport.capabilities.deadLetter || !store)
      throw unsupported(this.transport, 'deadLetter', 'dead letters');
    return store;
  }
}
