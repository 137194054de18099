/**
 * The Bus: what applications use. It validates against contracts, encodes,
 * runs middleware, and drives a transport; it retries and dead-letters
 * subscriptions, fills the gaps a transport declares where it can, and
 * refuses with `UNSUPPORTED` where it cannot.
 */
import { hostname } from 'node:os';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { BusLifecycle, closedBus } from './bus-lifecycle.js';
import type {
  BusOptions,
  PublishOptions,
  PublishReceipt,
  RequestOptions,
  SubscribeOptions,
} from './bus-options.js';
import { Codecs } from './codec.js';
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
import { optionalMillis } from './duration.js';
import { CourierError } from './errors.js';
import { newId } from './id.js';
import { assertSize } from './message.js';
import { type Middleware, runMiddleware } from './middleware/compose.js';
import { Observer } from './observability/observer.js';
import { ackWaitOf, atMostLongestTimer, deliverStart, wholeNumber } from './option-checks.js';
import { encodeData, type Outgoing, outgoingMessage } from './outgoing.js';
import { BusRequestHandler, type RequestHandler } from './request-handler.js';
import { retryPolicy } from './retry-policy.js';
import { assertSubject } from './subject.js';
import { BusSubscription, type CloseOptions, type Handler, type Subscription } from './subscription.js';
import type { Capability, Transport } from './transport.js';

type AnyEvent = EventContract<unknown, unknown>;
type AnyRpc = RpcContract<unknown, unknown, unknown, unknown>;

/** Shared by calls without options (never changed). */
const NO_OPTIONS = Object.freeze({});

/** {@link checkNow}'s answer when the schema must be run through `validate`. */
const LATER: unique symbol = Symbol('later');

/**
 * Runs a schema now: its output when it answers synchronously and finds no
 * issues, else `LATER` (an async schema, or issues, which `validate` reports).
 */
function checkNow(schema: StandardSchemaV1, value: unknown): unknown {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise || result.issues !== undefined) return LATER;
  return result.value;
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
  readonly #observer: Observer;
  readonly #lifecycle: BusLifecycle;
  /** Publishes on the full path not yet handed to the transport: later ones queue behind them. */
  #queuedPublishes = 0;
  /** Subjects already checked for publishing (bounded). */
  readonly #checkedSubjects = new Set<string>();

  constructor(transport: Transport, options: BusOptions = {}) {
    this.transport = transport;
    this.service = options.service ?? 'app';
    this.instance = options.instance ?? `${hostname()}-${process.pid}`;
    this.#lifecycle = new BusLifecycle(transport);
    this.#codecs = new Codecs(options.codecs);
    this.#outgoing = {
      codecs: this.#codecs,
      codec: this.#codecs.resolve(options.codec ?? 'json'),
      source: this.service,
    };
    this.#middleware = options.middleware ?? [];
    this.#requestTimeout = optionalMillis(options.requestTimeout, 'requestTimeout', 5000);
    this.#observer = new Observer({
      system: transport.engine,
      metrics: options.metrics,
      logger: options.logger,
    });
    this.#onError =
      options.onError ?? this.#observer.onError ?? ((error) => console.error('[courier]', error));
    this.deadLetters = deadLetters(() => this.#deadLetterStore(), this.#codecs);
  }

  /** Publishes an event; resolves once the engine holds it durably. */
  publish<C extends AnyEvent>(
    contract: C,
    data: EventInput<C>,
    options?: PublishOptions,
  ): Promise<PublishReceipt>;
  publish(subject: string, data: unknown, options?: PublishOptions): Promise<PublishReceipt>;
  publish(
    target: AnyEvent | string,
    data: unknown,
    options: PublishOptions = NO_OPTIONS,
  ): Promise<PublishReceipt> {
    if (this.#lifecycle.closed) return Promise.reject(closedBus());
    // Without middleware, observers or subscriptions attaching, and behind no publish still on its way, the
    // message goes to the transport in this call: no closures, no awaits. Otherwise the full path below.
    if (this.#queuedPublishes > 0 || !this.#direct()) return this.#publishInFull(target, data, options);
    let sent: Promise<void>;
    let receipt: PublishReceipt;
    try {
      const { subject, schema } =
        typeof target === 'string' ? { subject: target, schema: undefined } : target;
      this.#assertPublishSubject(subject);
      if (schema !== undefined && checkNow(schema, data) === LATER)
        return this.#publishInFull(target, data, options);
      const message = outgoingMessage(this.#outgoing, subject, data, options);
      assertSize(message, this.transport.capabilities.maxPayload, this.transport.engine);
      receipt = { id: message.id };
      sent = this.transport.publish(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#lifecycle.outstanding(sent, () => receipt);
  }

  /** Publishes through validation, the observer and the middleware, in call order with other publishes. */
  #publishInFull(target: AnyEvent | string, data: unknown, options: PublishOptions): Promise<PublishReceipt> {
    this.#queuedPublishes++;
    let queued = true;
    const handedOver = (): void => {
      if (queued) this.#queuedPublishes--;
      queued = false;
    };
    const publishing = this.#lifecycle.track(async () => {
      const { subject, schema } =
        typeof target === 'string' ? { subject: target, schema: undefined } : target;
      assertSubject(subject, { wildcards: false });
      await validate(schema, data, `data for ${subject}`);
      const message = outgoingMessage(this.#outgoing, subject, data, options);
      await this.#observer.publish(message, async () => {
        assertSize(message, this.transport.capabilities.maxPayload, this.transport.engine);
        const call = { kind: 'publish' as const, subject, data, headers: message.headers };
        await runMiddleware(this.#middleware, call, () => {
          handedOver();
          return this.transport.publish(message);
        });
      });
      return { id: message.id };
    });
    publishing.then(handedOver, handedOver);
    return publishing;
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
    this.#lifecycle.assertAccepting();
    const { subject, schema } = typeof target === 'string' ? { subject: target, schema: undefined } : target;
    assertSubject(subject, { wildcards: true });
    const { capabilities } = this.transport;
    if (options.group !== undefined && (typeof options.group !== 'string' || options.group === '')) {
      throw new CourierError(
        'INVALID_OPTION',
        `group must be a non-empty string, got ${JSON.stringify(options.group)}`,
      );
    }
    const deliver = deliverStart(options.deliver);
    if (deliver === 'all' && !capabilities.replay)
      throw unsupported(this.transport, 'replay', "deliver: 'all'");
    if (typeof deliver === 'object' && !capabilities.replayFrom)
      throw unsupported(this.transport, 'replayFrom', `deliver: ${JSON.stringify(deliver)}`);
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
      observer: this.#observer,
      onClosed: () => this.#lifecycle.stopped(subscription),
      onError: this.#onError,
    });
    this.#lifecycle.started(subscription);
    return subscription;
  }

  /** Sends a request to one handler of the subject and resolves with its reply. */
  request<C extends AnyRpc>(
    contract: C,
    data: RequestInput<C>,
    options?: RequestOptions,
  ): Promise<ResponseOutput<C>>;
  request<T = unknown>(subject: string, data: unknown, options?: RequestOptions): Promise<T>;
  request(target: AnyRpc | string, data: unknown, options: RequestOptions = NO_OPTIONS): Promise<unknown> {
    if (this.#lifecycle.closed) return Promise.reject(closedBus());
    if (!this.#direct()) return this.#requestInFull(target, data, options);
    let sent: Promise<Awaited<ReturnType<Transport['request']>>>;
    let subject: string;
    let response: StandardSchemaV1 | undefined;
    try {
      const contract = typeof target === 'string' ? undefined : target;
      subject = contract === undefined ? (target as string) : contract.subject;
      response = contract?.response;
      this.#assertPublishSubject(subject);
      if (!this.transport.capabilities.request) throw unsupported(this.transport, 'request', 'request');
      if (contract?.request !== undefined && checkNow(contract.request, data) === LATER)
        return this.#requestInFull(target, data, options);
      const timeout = this.#timeoutOf(options);
      const message = outgoingMessage(this.#outgoing, subject, data, options);
      assertSize(message, this.transport.capabilities.maxPayload, this.transport.engine);
      sent = this.transport.request(message, { timeout });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#lifecycle.outstanding(sent, (answer) => this.#answerOf(answer, subject, response));
  }

  #requestInFull(target: AnyRpc | string, data: unknown, options: RequestOptions): Promise<unknown> {
    return this.#lifecycle.track(async () => {
      const { subject, request, response } =
        typeof target === 'string' ? { subject: target, request: undefined, response: undefined } : target;
      assertSubject(subject, { wildcards: false });
      if (!this.transport.capabilities.request) throw unsupported(this.transport, 'request', 'request');
      await validate(request, data, `request to ${subject}`);
      const timeout = this.#timeoutOf(options);
      const message = outgoingMessage(this.#outgoing, subject, data, options);
      return this.#observer.request(message, async () => {
        assertSize(message, this.transport.capabilities.maxPayload, this.transport.engine);
        const call = { kind: 'request' as const, subject, data, headers: message.headers };
        const reply = await runMiddleware(this.#middleware, call, () =>
          this.transport.request(message, { timeout }),
        );
        return this.#answerOf(reply as Awaited<ReturnType<Transport['request']>>, subject, response);
      });
    });
  }

  #timeoutOf(options: RequestOptions): number {
    return atMostLongestTimer(optionalMillis(options.timeout, 'timeout', this.#requestTimeout), 'timeout');
  }

  /** The reply's data, decoded and checked; its error thrown. */
  #answerOf(
    answer: Awaited<ReturnType<Transport['request']>>,
    subject: string,
    response: StandardSchemaV1 | undefined,
  ): unknown {
    if (!answer.ok) throw CourierError.fromWire(answer.error);
    const decoded = this.#codecs.forContentType(answer.contentType).decode(answer.payload);
    if (response === undefined) return decoded;
    const checked = checkNow(response, decoded);
    return checked === LATER ? validate(response, decoded, `response from ${subject}`) : checked;
  }

  /** Answers requests on a subject or pattern; exactly one handler gets each request. */
  handle<C extends AnyRpc>(
    contract: C,
    handler: RequestHandler<RequestOutput<C>, ResponseInput<C>>,
  ): Subscription;
  handle(subject: string, handler: RequestHandler<never, unknown>): Subscription;
  handle(target: AnyRpc | string, handler: RequestHandler<never, unknown>): Subscription {
    this.#lifecycle.assertAccepting();
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
      observer: this.#observer,
      onClosed: () => this.#lifecycle.stopped(handle),
      onError: this.#onError,
    });
    this.#lifecycle.started(handle);
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
    return this.#lifecycle.close(optionalMillis(options.timeout, 'timeout', 30_000));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** True when a publish or request can skip the observer and middleware and need not wait for attachments. */
  #direct(): boolean {
    return !this.#lifecycle.attaching && this.#middleware.length === 0 && this.#observer.quiet;
  }

  #assertPublishSubject(subject: string): void {
    if (this.#checkedSubjects.has(subject)) return;
    assertSubject(subject, { wildcards: false });
    if (this.#checkedSubjects.size >= 1024) this.#checkedSubjects.clear();
    this.#checkedSubjects.add(subject);
  }

  #deadLetterStore() {
    const store = this.transport.deadLetters;
    if (!this.transport.capabilities.deadLetter || !store)
      throw unsupported(this.transport, 'deadLetter', 'dead letters');
    return store;
  }
}
