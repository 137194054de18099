/**
 * One client connection to the broker: the HELLO handshake, then frames
 * mapped onto a `LocalTransport` of the engine, so a remote connection gets
 * exactly the semantics of an embedded one (docs/protocol.md, Session).
 * When the socket goes, the transport is killed: the connection's unsettled
 * deliveries go back to their groups and its responders vanish.
 */
import type { Socket } from 'node:net';
import {
  assertSubject,
  type Consumer,
  CourierError,
  type Delivery,
  LocalTransport,
  type RawMessage,
  type Reply,
  type Responder,
  toCourierError,
  type WireError,
} from '@courier/core';
import type { BrokerEngine } from '../engine/broker-engine.js';
import type { Registration } from '../engine/service-registry.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FrameOutput } from '../protocol/frame-output.js';
import {
  DeadLetterOp,
  type Frame,
  FrameType,
  PROTOCOL_VERSION,
  SettleKind,
} from '../protocol/frame-types.js';
import { forbidden, type Permissions } from './permissions.js';
import { PublishConfirmer } from './publish-confirmer.js';

/** What a connection needs from its server. */
export interface ConnectionContext {
  readonly engine: BrokerEngine;
  readonly serverId: string;
  readonly maxFrame: number;
  /** The permissions of a HELLO token, or `undefined` when it is refused. */
  readonly authenticate: (token: string) => Permissions | undefined;
  readonly heartbeat: number;
  /** Unconfirmed publishes after which the connection stops reading (backpressure). */
  readonly maxUnconfirmed: number;
}

const wire = (error: unknown): WireError => toCourierError(error).toWire();

/** See the module comment. */
export class ServerConnection {
  readonly #socket: Socket;
  readonly #context: ConnectionContext;
  readonly #out: FrameOutput;
  readonly #decoder: FrameDecoder;
  readonly #transport: LocalTransport<BrokerEngine>;
  readonly #confirmer: PublishConfirmer;
  readonly #consumers = new Map<number, Consumer>();
  readonly #deliveries = new Map<number, Map<number, Delivery>>();
  readonly #responders = new Map<number, Responder>();
  readonly #calls = new Map<number, (reply: Reply) => void>();
  readonly #settling = new Set<Promise<void>>();
  readonly #heartbeat: NodeJS.Timeout;
  #permissions: Permissions | undefined;
  #ended = false;
  #registration: Registration | undefined;
  #heard = Date.now();
  #nextCall = 0;
  #nextToken = 0;

  constructor(socket: Socket, context: ConnectionContext) {
    this.#socket = socket;
    this.#context = context;
    this.#out = new FrameOutput(socket);
    this.#decoder = new FrameDecoder({ maxFrame: context.maxFrame });
    // Messages arrive freshly decoded from the wire: nothing else holds them, so no defensive copy.
    this.#transport = new LocalTransport({ engine: context.engine, copy: false });
    this.#confirmer = new PublishConfirmer({
      send: (frame) => this.#out.send(frame),
      onIdle: () => this.#resume(),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () => this.#closed());
    socket.on('error', () => undefined);
    socket.on('drain', () => this.#resume());
    // Liveness is the connection's: ping a quiet client, and drop one silent for three heartbeats.
    this.#heartbeat = setInterval(() => {
      const quiet = Date.now() - this.#heard;
      if (quiet > 3 * context.heartbeat)
        this.end(new CourierError('CONNECTION_CLOSED', 'no frame from the client for three heartbeats'));
      else if (quiet > context.heartbeat) this.#out.send({ type: FrameType.PING, nonce: quiet >>> 0 });
    }, context.heartbeat);
    this.#heartbeat.unref();
  }

  /** Ends the connection, telling the client why when there is a reason. */
  end(error?: CourierError): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error) this.#out.send({ type: FrameType.ERROR, ref: 0, error: error.toWire() });
    this.#out.flush();
    // Nothing more is read: a refused client cannot try another token on the same socket.
    this.#socket.pause();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#transport.kill();
  }

  #receive(chunk: Buffer): void {
    if (this.#ended) return;
    this.#heard = Date.now();
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.end(toCourierError(error, 'PROTOCOL_ERROR'));
      return;
    }
    for (const frame of frames) {
      if (this.#ended) return;
      try {
        this.#handle(frame);
      } catch (error) {
        this.end(toCourierError(error, 'PROTOCOL_ERROR'));
        return;
      }
    }
    // Backpressure: a client that outruns the disk or a slow reader is paused, not failed.
    if (this.#confirmer.unconfirmed > this.#context.maxUnconfirmed || this.#out.congested)
      this.#socket.pause();
  }

  #resume(): void {
    if (this.#confirmer.unconfirmed <= this.#context.maxUnconfirmed && !this.#out.congested)
      this.#socket.resume();
  }

  #closed(): void {
    clearInterval(this.#heartbeat);
    this.#registration?.remove();
    this.#transport.kill();
    this.#deliveries.clear();
  }

  #handle(frame: Frame): void {
    if (!this.#permissions) {
      if (frame.type !== FrameType.HELLO)
        throw new CourierError('PROTOCOL_ERROR', 'the first frame must be HELLO');
      this.#hello(frame);
      return;
    }
    switch (frame.type) {
      case FrameType.PING:
        this.#out.send({ type: FrameType.PONG, nonce: frame.nonce });
        return;
      case FrameType.PONG:
        return;
      case FrameType.PUBLISH:
        frame.messages.forEach((message, i) => {
          this.#confirmer.track((frame.firstSeq + i) >>> 0, this.#publish(message));
        });
        return;
      case FrameType.SUBSCRIBE:
        this.#subscribe(frame);
        return;
      case FrameType.SETTLE:
        for (const s of frame.settlements) this.#settle(s);
        return;
      case FrameType.UNSUBSCRIBE:
        this.#unsubscribe(frame.consumer, frame.close);
        return;
      case FrameType.REQUEST:
        this.#request(frame.request, frame.timeout, frame.message);
        return;
      case FrameType.SERVE:
        this.#serve(frame.responder, frame.subject);
        return;
      case FrameType.UNSERVE:
        void this.#responders.get(frame.responder)?.close();
        this.#responders.delete(frame.responder);
        return;
      case FrameType.RESPOND:
        this.#calls.get(frame.call)?.(frame.reply);
        this.#calls.delete(frame.call);
        return;
      case FrameType.DEAD_LETTERS:
        void this.#deadLetters(frame);
        return;
      default:
        throw new CourierError(
          'PROTOCOL_ERROR',
          `a client may not send frame type 0x${frame.type.toString(16)}`,
        );
    }
  }

  /** Checks what a raw client could get wrong (subject, rights), then stores the message. */
  #publish(message: RawMessage): Promise<void> {
    try {
      assertSubject(message.subject, { wildcards: false });
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#permissions?.canPublish(message.subject))
      return Promise.reject(forbidden('publish to', message.subject));
    return this.#transport.publish(message);
  }

  /** An ERROR for `ref` when a subject is malformed or the token may not use it; true when refused. */
  #refused(
    ref: number,
    subject: string,
    kind: { wildcards: boolean; action: 'subscribe to' | 'request' | 'serve' },
  ): boolean {
    let error: CourierError | undefined;
    try {
      assertSubject(subject, { wildcards: kind.wildcards });
    } catch (invalid) {
      error = invalid as CourierError;
    }
    const permissions = this.#permissions;
    const allowed =
      kind.action === 'request' ? permissions?.canPublish(subject) : permissions?.canSubscribe(subject);
    if (!error && !allowed) error = forbidden(kind.action, subject);
    if (error) this.#out.send({ type: FrameType.ERROR, ref, error: error.toWire() });
    return error !== undefined;
  }

  #hello(hello: Extract<Frame, { type: typeof FrameType.HELLO }>): void {
    const { minVersion: min, maxVersion: max, token } = hello;
    if (min > PROTOCOL_VERSION.max || max < PROTOCOL_VERSION.min) {
      throw new CourierError(
        'PROTOCOL_ERROR',
        `client speaks protocol ${min}..${max}, this broker ${PROTOCOL_VERSION.min}..${PROTOCOL_VERSION.max}; upgrade the older side`,
      );
    }
    const permissions = this.#context.authenticate(token);
    if (!permissions) {
      const why = token === '' ? 'no token was given' : 'the token is not accepted';
      this.end(
        new CourierError('UNAUTHORIZED', `${why}; pass the right one in the URL: courier://TOKEN@host:port`),
      );
      return;
    }
    this.#permissions = permissions;
    this.#registration = this.#context.engine.services.register({
      service: hello.service,
      instance: hello.instance,
      client: hello.client,
      address: `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`,
      since: Date.now(),
    });
    this.#out.send({
      type: FrameType.WELCOME,
      version: Math.min(max, PROTOCOL_VERSION.max),
      maxFrame: this.#context.maxFrame,
      maxPayload: this.#context.engine.maxPayload,
      server: this.#context.serverId,
      heartbeat: this.#context.heartbeat,
    });
  }

  #subscribe(frame: Extract<Frame, { type: typeof FrameType.SUBSCRIBE }>): void {
    const { consumer: id } = frame;
    if (this.#refused(id, frame.subject, { wildcards: true, action: 'subscribe to' })) return;
    const tokens = new Map<number, Delivery>();
    this.#deliveries.set(id, tokens);
    this.#transport
      .consume(
        {
          subject: frame.subject,
          group: frame.group,
          durable: frame.durable,
          deliver: frame.deliverAll ? 'all' : 'new',
          maxInFlight: Math.max(frame.maxInFlight, 1),
          ackWait: Math.max(frame.ackWait, 10),
        },
        (delivery) => {
          const token = ++this.#nextToken >>> 0;
          tokens.set(token, delivery);
          this.#out.send({
            type: FrameType.DELIVER,
            consumer: id,
            deliveries: [{ token, attempt: delivery.attempt, message: delivery.message }],
          });
        },
      )
      .then(
        (consumer) => {
          this.#consumers.set(id, consumer);
          this.#registration?.subscriptions.add(`${frame.group} ${frame.subject}`);
          this.#out.send({ type: FrameType.SUBSCRIBED, consumer: id });
        },
        (error: unknown) => this.#out.send({ type: FrameType.ERROR, ref: id, error: wire(error) }),
      );
  }

  #settle(s: Extract<Frame, { type: typeof FrameType.SETTLE }>['settlements'][number]): void {
    const tokens = this.#deliveries.get(s.consumer);
    const delivery = tokens?.get(s.token);
    if (!tokens || !delivery) return; // a settle for a delivery the engine already took back
    if (s.kind === SettleKind.TOUCH) {
      delivery.touch();
      return;
    }
    tokens.delete(s.token);
    let done: Promise<void>;
    if (s.kind === SettleKind.NACK) done = delivery.nack(s.delay);
    else if (s.kind === SettleKind.DEAD) done = delivery.deadLetter(s.error);
    else done = delivery.ack();
    const settled = done.catch((error: unknown) =>
      this.#out.send({ type: FrameType.ERROR, ref: s.consumer, error: wire(error) }),
    );
    this.#settling.add(settled);
    void settled.finally(() => this.#settling.delete(settled));
  }

  #unsubscribe(id: number, close: boolean): void {
    const consumer = this.#consumers.get(id);
    const finish = (): void => this.#out.send({ type: FrameType.UNSUBSCRIBED, consumer: id });
    if (!consumer) {
      finish();
      return;
    }
    if (!close) {
      void consumer.stop().then(finish);
      return;
    }
    this.#consumers.delete(id);
    this.#deliveries.delete(id);
    void consumer.close().then(finish);
  }

  #request(id: number, timeout: number, message: Parameters<LocalTransport['request']>[0]): void {
    // A handler's error is a reply; the engine's own (NO_RESPONDERS, TIMEOUT) is an ERROR for the request.
    if (this.#refused(id, message.subject, { wildcards: false, action: 'request' })) return;
    this.#transport.request(message, { timeout }).then(
      (reply) => this.#out.send({ type: FrameType.REPLY, request: id, reply }),
      (error: unknown) => this.#out.send({ type: FrameType.ERROR, ref: id, error: wire(error) }),
    );
  }

  #serve(id: number, subject: string): void {
    if (this.#refused(id, subject, { wildcards: true, action: 'serve' })) return;
    this.#transport
      .serve(subject, (message) => {
        const call = ++this.#nextCall >>> 0;
        return new Promise<Reply>((resolve) => {
          this.#calls.set(call, resolve);
          this.#out.send({ type: FrameType.INCOMING, responder: id, call, message });
        });
      })
      .then(
        (responder) => {
          this.#responders.set(id, responder);
          this.#registration?.handlers.add(subject);
          this.#out.send({ type: FrameType.SERVING, responder: id });
        },
        (error: unknown) => this.#out.send({ type: FrameType.ERROR, ref: id, error: wire(error) }),
      );
  }

  async #deadLetters(frame: Extract<Frame, { type: typeof FrameType.DEAD_LETTERS }>): Promise<void> {
    // Dead letters hold any group's messages: only a token with every right may read or move them.
    if (!this.#permissions?.canSubscribe('>') || !this.#permissions.canPublish('>')) {
      const error = forbidden('subscribe to', `the dead letters of ${frame.group}`);
      this.#out.send({ type: FrameType.ERROR, ref: frame.op, error: error.toWire() });
      return;
    }
    // Read your own writes: this connection's settlements (dead letters among them) land first.
    await Promise.allSettled([...this.#settling]);
    const store = this.#context.engine.deadLetters;
    const result =
      frame.action === DeadLetterOp.LIST
        ? store
            .list(frame.group, frame.limit > 0 ? { limit: frame.limit } : {})
            .then((entries) => ({ count: entries.length, entries }))
        : (frame.action === DeadLetterOp.REPLAY
            ? store.replay(frame.group, frame.ids)
            : store.purge(frame.group, frame.ids)
          ).then((count) => ({ count, entries: [] }));
    result.then(
      ({ count, entries }) =>
        this.#out.send({ type: FrameType.DEAD_LETTERS_RESULT, op: frame.op, count, entries }),
      (error: unknown) => this.#out.send({ type: FrameType.ERROR, ref: frame.op, error: wire(error) }),
    );
  }
}
