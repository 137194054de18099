/**
 * The NATS JetStream transport: Courier's Transport SPI on a NATS server
 * with JetStream. Events go to a stream that captures the deployment's
 * prefix; groups are pull consumers; requests are core NATS requests. The
 * client reconnects by itself (forever, by default); members ask for their
 * messages again after each reconnect, and unconfirmed publishes are sent
 * again with the same message id.
 */
import {
  assertSize,
  type Capabilities,
  type ConsumeOptions,
  type Consumer,
  CourierError,
  type CreateTransport,
  type DeadLetterStore,
  type Delivery,
  type RawMessage,
  type Reply,
  type Responder,
  type Transport,
} from '@courier/core';
import { bounded } from '@courier/core/internal';
import { JetStreamError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { ensureConsumer, groupConsumers } from './consumers.js';
import type { NatsContext } from './context.js';
import { NatsDeadLetterStore } from './dead-letters.js';
import { EnvelopeHeader, encodeEnvelope } from './envelope.js';
import { fromNatsError } from './errors.js';
import { subjectSpace } from './names.js';
import { NatsMember } from './nats-member.js';
import { type NatsTransportOptions, optionsFromUrl, resolveOptions } from './options.js';
import { publishToStream } from './publisher.js';
import { sendRequest, serveRequests } from './requests.js';
import { ensureStreams, streamNames } from './streams.js';

/**
 * Room kept under the server's `max_payload` for the envelope headers, so
 * that a message within `capabilities.maxPayload` always fits.
 */
export const ENVELOPE_RESERVE = 4096;

async function open(options: NatsTransportOptions) {
  const resolved = resolveOptions(options);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: resolved.servers,
      name: 'courier',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      // The client captures a stack for every request in case it fails; Courier maps failures to its
      // own errors, and the capture was a third of a publish's CPU time.
      noAsyncTraces: true,
      ...resolved.connection,
    });
  } catch (error) {
    const failure = fromNatsError(error, `connecting to ${resolved.servers.join(', ')}`);
    throw new CourierError(
      failure.code === 'INTERNAL' ? 'CONNECTION_CLOSED' : failure.code,
      `could not connect to NATS at ${resolved.servers.join(', ')}: ${error instanceof Error ? error.message : String(error)}; is nats-server running (with -js) and reachable?`,
      { cause: error },
    );
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: resolved.apiTimeout });
    const js = jetstream(nc, { timeout: resolved.apiTimeout });
    const space = subjectSpace(resolved.prefix);
    const streams = streamNames(resolved.stream);
    const { durable } = await ensureStreams(jsm, streams, space, resolved);
    return { nc, jsm, js, resolved, space, streams, durable };
  } catch (error) {
    await nc.close().catch(() => undefined);
    if (error instanceof JetStreamError && /not enabled/i.test(error.message))
      throw new CourierError(
        'UNSUPPORTED',
        `JetStream is not enabled on the NATS server at ${resolved.servers.join(', ')} (for this account); start nats-server with -js, or enable JetStream for the account`,
        { cause: error },
      );
    throw fromNatsError(error, `preparing the JetStream streams on ${resolved.servers.join(', ')}`);
  }
}

/** A connection to a NATS server with JetStream. Create it with {@link natsTransport}. */
export class NatsTransport implements Transport {
  readonly engine = 'nats';
  readonly capabilities: Readonly<Capabilities>;
  readonly deadLetters: DeadLetterStore;
  readonly #ctx: NatsContext;
  readonly #members = new Set<NatsMember>();
  readonly #responders = new Set<Responder>();
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #reconnectListeners = new Set<() => void>();

  private constructor(ctx: NatsContext, durable: boolean) {
    this.#ctx = ctx;
    this.capabilities = Object.freeze({
      durable,
      replay: true,
      // JetStream hands a consumer's messages to whichever member pulls; it has no per-key dispatch.
      keyOrdering: false,
      // Message scheduling needs nats-server 2.12; the Bus defers early deliveries with nack(delay).
      delay: false,
      nackDelay: true,
      dedup: true,
      request: true,
      deadLetter: true,
      maxPayload: ctx.serverMaxPayload - ENVELOPE_RESERVE,
    });
    this.deadLetters = new NatsDeadLetterStore(ctx);
    void this.#watch();
  }

  /** Connects and makes sure the deployment's streams exist. */
  static async connect(options: NatsTransportOptions = {}): Promise<NatsTransport> {
    const { nc, jsm, js, resolved, space, streams, durable } = await open(options);
    let transport: NatsTransport | undefined;
    const ctx: NatsContext = {
      nc,
      js,
      jsm,
      options: resolved,
      space,
      streams,
      serverMaxPayload: nc.info?.max_payload ?? 1024 * 1024,
      closed: () => transport === undefined || transport.#closed || nc.isClosed(),
      onReconnect: (listener) => {
        const listeners = (transport as NatsTransport).#reconnectListeners;
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    transport = new NatsTransport(ctx, durable);
    return transport;
  }

  /** The underlying NATS connection, for what Courier does not cover. Do not close it yourself. */
  get connection(): NatsConnection {
    return this.#ctx.nc;
  }

  async #watch(): Promise<void> {
    try {
      for await (const status of this.#ctx.nc.status()) {
        if (status.type !== 'reconnect') continue;
        for (const listener of [...this.#reconnectListeners]) listener();
        for (const member of this.#members) member.reconnected();
      }
    } catch {
      // the status iterator ends with the connection
    }
  }

  #assertOpen(what: string): void {
    if (this.#ctx.closed())
      throw new CourierError('CONNECTION_CLOSED', `${what} failed: the nats transport is closed`);
  }

  async publish(message: RawMessage): Promise<void> {
    this.#assertOpen(`publish to ${message.subject}`);
    assertSize(message, this.capabilities.maxPayload, this.engine);
    const headers = encodeEnvelope(message);
    await publishToStream(
      this.#ctx,
      {
        subject: `${this.#ctx.space.events}.${message.subject}`,
        payload: message.payload,
        headers,
        msgId: headers.get(EnvelopeHeader.id),
        label: message.subject,
      },
      this.capabilities.maxPayload,
    );
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#assertOpen(`subscribing to ${options.subject}`);
    const { main, replay } = groupConsumers(this.#ctx, options);
    const [mainInfo, replayInfo] = await Promise.all([
      ensureConsumer(this.#ctx, main),
      ensureConsumer(this.#ctx, replay),
    ]);
    const member: NatsMember = new NatsMember({
      ctx: this.#ctx,
      consume: options,
      main: { spec: main, info: mainInfo },
      replay: { spec: replay, info: replayInfo },
      onDelivery,
      onClosed: () => this.#members.delete(member),
    });
    this.#members.add(member);
    member.start();
    return member;
  }

  request(message: RawMessage, options: { timeout: number }): Promise<Reply> {
    return sendRequest(this.#ctx, message, options.timeout, this.capabilities.maxPayload);
  }

  async serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    const responder = await serveRequests(this.#ctx, subject, handler);
    const tracked: Responder = {
      close: async () => {
        this.#responders.delete(tracked);
        await responder.close();
      },
    };
    this.#responders.add(tracked);
    return tracked;
  }

  /**
   * Closes the connection: members give their unsettled deliveries back,
   * responders finish the requests they took, pending acks are flushed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const nc = this.#ctx.nc;
    await Promise.all([...this.#members].map((member) => member.close()));
    await Promise.all([...this.#responders].map((responder) => bounded(responder.close(), 5000, undefined)));
    if (!nc.isClosed()) {
      await bounded(nc.flush(), 2000, undefined);
      await nc.close().catch(() => undefined);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Connects a NATS JetStream transport. */
export function natsTransport(options: NatsTransportOptions = {}): Promise<NatsTransport> {
  return NatsTransport.connect(options);
}

/** The `nats://` entry point used by `connect(url)` in `@courier/core`. */
export const createTransport: CreateTransport = (url, options) => natsTransport(optionsFromUrl(url, options));
