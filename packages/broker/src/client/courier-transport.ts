/**
 * `courier://`: the broker over TCP. Publishes of one turn go out in one
 * PUBLISH frame and are confirmed by range; settlements are batched the same
 * way. When the link drops, the connection reconnects with backoff and this
 * transport restores itself: it subscribes its members again, registers its
 * responders again and re-sends every unconfirmed publish with its id, so
 * the broker's dedup window keeps each once. Deliveries and requests of the
 * dropped link are given up (the broker gives the deliveries to others).
 */
import { hostname } from 'node:os';
import {
  assertSize,
  type Capabilities,
  type ConsumeOptions,
  type Consumer,
  CourierError,
  type DeadLetter,
  type DeadLetterStore,
  type Delivery,
  type RawMessage,
  type Reply,
  type Responder,
  type Transport,
  toCourierError,
} from '@courier/core';
import { DeadLetterOp, type Frame, FrameType, type Settlement } from '../protocol/frame-types.js';
import { messageWireSize } from '../protocol/structures.js';
import { ClientConnection, type Welcome } from './client-connection.js';
import { ConsumerRegistry } from './consumer-registry.js';
import type { SettlementSink } from './courier-delivery.js';
import type { ClientTlsOptions } from './link-dialer.js';
import { PendingCalls } from './pending-calls.js';
import { PublishPipeline } from './publish-pipeline.js';

/** Options of {@link courierTransport}. */
export interface CourierTransportOptions {
  host?: string;
  /** Default 4270 (for a WebSocket, the broker's HTTP port, 4271). */
  port?: number;
  /** The broker's token, when it has auth. */
  token?: string;
  service?: string;
  instance?: string;
  /** The service's version (its release), shown in the broker's service registry. */
  version?: string;
  /** Connect over TLS (`couriers://`), with these options; `true` for the defaults. */
  tls?: boolean | ClientTlsOptions;
  /** Speak the protocol over a WebSocket at this path (`courier+ws://host:port/courier`) instead of TCP. */
  websocketPath?: string;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** See the module comment. Create with {@link courierTransport}. */
export class CourierTransport implements Transport {
  readonly engine = 'courier';
  capabilities: Readonly<Capabilities>;
  readonly deadLetters: DeadLetterStore;
  readonly #link: ClientConnection;
  readonly #publishes = new PublishPipeline((frame) => this.#link.send(frame));
  #settles: Settlement[] = [];
  /** Settlements of deliveries on the current link, sent with the turn's flush. */
  readonly #settlements: SettlementSink = {
    settle: (epoch, settlement) => {
      if (this.#link.epoch !== epoch) return;
      this.#settles.push(settlement);
      this.#schedule();
    },
  };
  readonly #consumers: ConsumerRegistry;
  readonly #responders = new Map<
    number,
    { subject: string; handler: (m: RawMessage) => Promise<Reply>; ready?: Pending<void> }
  >();
  readonly #requests = new PendingCalls<Reply>();
  readonly #ops = new PendingCalls<{ count: number; next: number; entries: DeadLetter[] }>();
  #nextId = 0;
  #scheduled = false;
  #closed = false;

  constructor(options: CourierTransportOptions) {
    this.capabilities = capabilitiesFor(8 * 1024 * 1024);
    const { tls, websocketPath } = options;
    this.#link = new ClientConnection({
      target: {
        host: options.host ?? '127.0.0.1',
        port: options.port ?? (websocketPath === undefined ? 4270 : 4271),
        ...(tls ? { tls: tls === true ? {} : tls } : {}),
        ...(websocketPath !== undefined ? { websocketPath } : {}),
      },
      token: options.token ?? '',
      service: options.service ?? 'app',
      instance: options.instance ?? `${hostname()}-${process.pid}`,
      version: options.version ?? '',
      onFrame: (frame) => this.#receive(frame),
      onConnected: (welcome) => this.#restore(welcome),
      onDisconnected: (error) => this.#dropped(error),
      onDrain: () => this.#flush(),
    });
    this.#consumers = new ConsumerRegistry({ link: this.#link, settlements: this.#settlements });
    this.deadLetters = {
      list: (group, o = {}) => this.#listDeadLetters(group, o.limit ?? 0),
      replay: async (group, ids) => (await this.#deadLetterOp(DeadLetterOp.REPLAY, group, { ids })).count,
      purge: async (group, ids) => (await this.#deadLetterOp(DeadLetterOp.PURGE, group, { ids })).count,
    };
  }

  /** Connects; rejects when the broker cannot be reached or refuses the token. */
  async start(): Promise<this> {
    await this.#link.start();
    return this;
  }

  publish(message: RawMessage): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    let size: number;
    try {
      assertSize(message, this.capabilities.maxPayload, this.engine);
      // What the frame cannot carry is refused here, before it could wedge the link for everyone.
      size = messageWireSize(message);
    } catch (error) {
      return Promise.reject(error);
    }
    const published = this.#publishes.add(message, size);
    this.#schedule();
    return published;
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    if (this.#closed) throw closedError();
    return await this.#consumers.consume(++this.#nextId, options, onDelivery);
  }

  request(message: RawMessage, options: { timeout: number }): Promise<Reply> {
    if (this.#closed) return Promise.reject(closedError());
    const id = ++this.#nextId;
    return this.#requests.wait(
      id,
      () => this.#link.send({ type: FrameType.REQUEST, request: id, timeout: options.timeout, message }),
      {
        // The broker answers TIMEOUT itself; this later deadline only covers a broker that went silent.
        timeout: options.timeout + 1000,
        onTimeout: () =>
          new CourierError(
            'TIMEOUT',
            `no reply on ${message.subject} within ${options.timeout} ms; raise timeout or make the handler faster`,
          ),
        what: `the request to ${message.subject}`,
      },
    );
  }

  async serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    if (this.#closed) throw closedError();
    const id = ++this.#nextId;
    const entry: { subject: string; handler: typeof handler; ready?: Pending<void> } = { subject, handler };
    this.#responders.set(id, entry);
    await new Promise<void>((resolve, reject) => {
      entry.ready = { resolve, reject };
      this.#link.send({ type: FrameType.SERVE, responder: id, subject });
    });
    return {
      close: async () => {
        if (this.#responders.delete(id)) this.#link.send({ type: FrameType.UNSERVE, responder: id });
      },
    };
  }

  /** Drops the link for good, as a crashed process would. */
  kill(): void {
    this.#closed = true;
    this.#link.kill();
    this.#dropped(closedError());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    await this.#link.close();
    this.#dropped(closedError());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /** Sends this turn's publishes and settlements. */
  #flush(): void {
    this.#scheduled = false;
    if (!this.#link.connected) return; // kept for the next link
    // Publishes wait in the pipeline while the link is congested; its drain flushes again.
    this.#publishes.flush(() => !this.#link.congested);
    if (this.#settles.length > 0) {
      const settlements = this.#settles.splice(0);
      for (let i = 0; i < settlements.length; i += 0xffff) {
        this.#link.send({ type: FrameType.SETTLE, settlements: settlements.slice(i, i + 0xffff) });
      }
    }
  }

  #restore(welcome: Welcome): void {
    this.capabilities = capabilitiesFor(welcome.maxPayload);
    this.#publishes.relink(welcome.maxFrame);
    this.#settles = []; // tokens of the old link mean nothing on this one
    this.#consumers.resubscribe();
    for (const [id, r] of this.#responders)
      this.#link.send({ type: FrameType.SERVE, responder: id, subject: r.subject });
    this.#flush();
  }

  #dropped(error: CourierError): void {
    this.#requests.rejectAll(error);
    this.#ops.rejectAll(error);
    this.#consumers.released();
    if (!this.#closed) return; // publishes and members wait for the next link
    this.#publishes.rejectAll(error);
    this.#consumers.rejectAll(error);
    for (const responder of this.#responders.values()) responder.ready?.reject(error);
  }

  #receive(frame: Frame): void {
    switch (frame.type) {
      case FrameType.CONFIRM:
        this.#publishes.settle(frame.firstSeq, frame.count);
        return;
      case FrameType.PUBLISH_FAILED:
        this.#publishes.settle(frame.seq, 1, CourierError.fromWire(frame.error));
        return;
      case FrameType.SUBSCRIBED:
        this.#consumers.subscribed(frame.consumer);
        return;
      case FrameType.UNSUBSCRIBED:
        this.#consumers.unsubscribed(frame.consumer);
        return;
      case FrameType.DELIVER:
        this.#consumers.deliver(frame.consumer, frame.deliveries);
        return;
      case FrameType.REPLY:
        this.#requests.resolve(frame.request, frame.reply); // after a timeout, the late reply is dropped
        return;
      case FrameType.SERVING:
        this.#responders.get(frame.responder)?.ready?.resolve();
        return;
      case FrameType.INCOMING:
        this.#answer(frame.responder, frame.call, frame.message);
        return;
      case FrameType.DEAD_LETTERS_RESULT:
        this.#ops.resolve(frame.op, { count: frame.count, next: frame.next, entries: frame.entries });
        return;
      case FrameType.ERROR:
        this.#failed(frame.ref, CourierError.fromWire(frame.error));
        return;
      case FrameType.PING:
        this.#link.send({ type: FrameType.PONG, nonce: frame.nonce });
        return;
      default:
        return;
    }
  }

  #answer(responder: number, call: number, message: RawMessage): void {
    const entry = this.#responders.get(responder);
    const epoch = this.#link.epoch;
    const respond = (reply: Reply): void => {
      if (this.#link.epoch === epoch) this.#link.send({ type: FrameType.RESPOND, call, reply });
    };
    if (!entry) {
      respond({ ok: false, error: new CourierError('NO_RESPONDERS', 'the handler was closed').toWire() });
      return;
    }
    let replying: Promise<Reply>;
    try {
      replying = entry.handler(message);
    } catch (error) {
      replying = Promise.reject(error);
    }
    replying.then(respond, (error: unknown) =>
      respond({ ok: false, error: toCourierError(error, 'HANDLER_ERROR').toWire() }),
    );
  }

  #failed(ref: number, error: CourierError): void {
    if (this.#consumers.fail(ref, error)) return;
    const responder = this.#responders.get(ref);
    if (responder?.ready) {
      this.#responders.delete(ref);
      responder.ready.reject(error);
      return;
    }
    if (!this.#ops.reject(ref, error)) this.#requests.reject(ref, error);
  }

  /** Follows DEAD_LETTERS_RESULT pages until `limit` entries (0: all) or the last page. */
  async #listDeadLetters(group: string, limit: number): Promise<DeadLetter[]> {
    const entries: DeadLetter[] = [];
    let cursor = 0;
    do {
      const want = limit > 0 ? limit - entries.length : 0;
      const page = await this.#deadLetterOp(DeadLetterOp.LIST, group, { limit: want, cursor });
      entries.push(...page.entries);
      cursor = page.next;
    } while (cursor !== 0 && (limit === 0 || entries.length < limit));
    return entries;
  }

  #deadLetterOp(
    action: (typeof DeadLetterOp)[keyof typeof DeadLetterOp],
    group: string,
    o: { limit?: number; cursor?: number; ids?: readonly string[] | undefined },
  ): Promise<{ count: number; next: number; entries: DeadLetter[] }> {
    const op = ++this.#nextId;
    const ids = o.ids ? [...o.ids] : undefined;
    const { limit = 0, cursor = 0 } = o;
    return this.#ops.wait(
      op,
      () => this.#link.send({ type: FrameType.DEAD_LETTERS, op, action, group, limit, cursor, ids }),
      {
        what: `the dead-letter request for ${group}`,
      },
    );
  }
}

function capabilitiesFor(maxPayload: number): Readonly<Capabilities> {
  return Object.freeze({
    durable: true,
    replay: true,
    replayFrom: true,
    keyOrdering: true,
    delay: true,
    nackDelay: true,
    dedup: true,
    request: true,
    deadLetter: true,
    maxPayload,
  });
}

function closedError(): CourierError {
  return new CourierError('CONNECTION_CLOSED', 'the courier transport is closed; connect again');
}

/** Connects to a broker over TCP. */
export function courierTransport(options: CourierTransportOptions = {}): Promise<CourierTransport> {
  return new CourierTransport(options).start();
}
