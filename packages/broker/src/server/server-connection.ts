/**
 * One client connection to the broker: the HELLO handshake, then frames
 * mapped onto a `LocalTransport` of the engine, so a remote connection gets
 * exactly the semantics of an embedded one (docs/protocol.md, Session).
 * When the stream goes, the transport is killed: the connection's unsettled
 * deliveries go back to their groups and its responders vanish.
 *
 * The stream is any Duplex: a TCP or TLS socket, or a WebSocket wrapped by
 * `webSocketStream` (protocol/websocket-stream.ts), so there is one
 * connection implementation.
 * Backpressure is counted in bytes: the connection stops reading while its
 * unconfirmed publishes exceed `maxUnconfirmedBytes` (or
 * `maxUnconfirmed` messages) or its output is congested, and deliveries that
 * arrive while the output is congested wait, unencoded, for its drain (their
 * number is bounded by the consumer's credit).
 * The connection checks each subject and the client's rights; its consumers
 * are kept by `ConsumerRelay` and its request-reply by `RequestRelay`.
 */
import type { Duplex } from 'node:stream';
import { assertSubject, CourierError, LocalTransport, type RawMessage, toCourierError } from '@courier/core';
import type { BrokerEngine } from '../engine/broker-engine.js';
import { encodeMessage } from '../engine/records.js';
import type { Registration } from '../engine/service-registry.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FrameOutput } from '../protocol/frame-output.js';
import { type Frame, FrameType, PROTOCOL_VERSION } from '../protocol/frame-types.js';
import { ConsumerRelay } from './consumer-relay.js';
import { deadLetterAnswer } from './dead-letter-pages.js';
import { DeliveryOutbox } from './delivery-outbox.js';
import { type Permissions, unauthorized } from './permissions.js';
import { PublishConfirmer } from './publish-confirmer.js';
import { RequestRelay } from './request-relay.js';

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
  /** Unconfirmed publish bytes after which the connection stops reading (backpressure). */
  readonly maxUnconfirmedBytes: number;
}

/** Who is on the other end, for the service registry. */
export interface ConnectionPeer {
  /** `host:port` of the peer. */
  readonly address: string;
}

/** What one connection holds in memory for its client right now. */
export interface ConnectionStats {
  /** Bytes of a partly received frame, unconfirmed publishes, unsent output and waiting deliveries. */
  bufferedBytes: number;
  /** The most `bufferedBytes` has been at the end of a read or a delivery. */
  peakBufferedBytes: number;
  /** Times reading was paused for backpressure. */
  pauses: number;
}

/** See the module comment. */
export class ServerConnection {
  readonly #socket: Duplex;
  readonly #peer: ConnectionPeer;
  readonly #context: ConnectionContext;
  readonly #out: FrameOutput;
  readonly #decoder: FrameDecoder;
  readonly #transport: LocalTransport<BrokerEngine>;
  readonly #confirmer: PublishConfirmer;
  readonly #consumers: ConsumerRelay;
  readonly #requests: RequestRelay;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #outbox: DeliveryOutbox;
  #peak = 0;
  #pauses = 0;
  #paused = false;
  #permissions: Permissions | undefined;
  #ended = false;
  #registration: Registration | undefined;
  #heard = Date.now();

  constructor(options: { stream: Duplex; peer: ConnectionPeer; context: ConnectionContext }) {
    const { stream: socket, context } = options;
    this.#socket = socket;
    this.#peer = options.peer;
    this.#context = context;
    this.#out = new FrameOutput(socket, { onDrain: () => this.#resume() });
    this.#outbox = new DeliveryOutbox({
      out: this.#out,
      live: (consumer, token) => this.#consumers.live(consumer, token),
    });
    this.#decoder = new FrameDecoder({ maxFrame: context.maxFrame });
    // Messages arrive freshly decoded from the wire: nothing else holds them, so no defensive copy.
    this.#transport = new LocalTransport({ engine: context.engine, copy: false });
    const send = (frame: Frame): void => this.#out.send(frame);
    this.#confirmer = new PublishConfirmer({ send, onIdle: () => this.#resume() });
    const registration = (): Registration | undefined => this.#registration;
    this.#consumers = new ConsumerRelay({
      transport: this.#transport,
      send,
      deliver: (consumer, token, delivery) => {
        this.#outbox.deliver(consumer, token, delivery);
        this.#observe();
      },
      registration,
    });
    this.#requests = new RequestRelay({ transport: this.#transport, send, registration });
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () => this.#closed());
    socket.on('error', () => undefined);
    // Liveness is the connection's: ping a quiet client, and drop one silent for three heartbeats.
    this.#heartbeat = setInterval(() => {
      const quiet = Date.now() - this.#heard;
      if (quiet > 3 * context.heartbeat)
        this.end(new CourierError('CONNECTION_CLOSED', 'no frame from the client for three heartbeats'));
      else if (quiet > context.heartbeat) this.#out.send({ type: FrameType.PING, nonce: quiet >>> 0 });
    }, context.heartbeat);
    this.#heartbeat.unref();
  }

  /** What this connection buffers now, and the most it has. */
  stats(): ConnectionStats {
    return { bufferedBytes: this.#buffered(), peakBufferedBytes: this.#peak, pauses: this.#pauses };
  }

  #buffered(): number {
    return (
      this.#decoder.buffered + this.#confirmer.unconfirmedBytes + this.#out.pendingBytes + this.#outbox.bytes
    );
  }

  #observe(): void {
    const now = this.#buffered();
    if (now > this.#peak) this.#peak = now;
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
    this.#observe();
    // Backpressure: a client that outruns the disk or a slow reader is paused, not failed.
    if (this.#saturated() && !this.#paused) {
      this.#paused = true;
      this.#pauses++;
      this.#socket.pause();
    }
  }

  #saturated(): boolean {
    return (
      this.#confirmer.unconfirmed > this.#context.maxUnconfirmed ||
      this.#confirmer.unconfirmedBytes > this.#context.maxUnconfirmedBytes ||
      this.#out.congested
    );
  }

  #resume(): void {
    this.#outbox.drain();
    if (this.#paused && !this.#ended && !this.#saturated()) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #closed(): void {
    clearInterval(this.#heartbeat);
    this.#registration?.remove();
    this.#transport.kill();
    this.#consumers.release();
    this.#outbox.clear();
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
      case FrameType.PUBLISH: {
        const { messages, encoded } = frame;
        for (let i = 0; i < messages.length; i++) {
          const message = messages[i] as RawMessage;
          // The decoder hands each message's bytes along: stored as they came, their length is the wire size.
          const bytes = encoded?.[i] ?? encodeMessage(message);
          this.#publish(message, bytes, this.#confirmer.track((frame.firstSeq + i) >>> 0, bytes.byteLength));
        }
        return;
      }
      case FrameType.SUBSCRIBE:
        if (!this.#refused(frame.consumer, frame.subject, { wildcards: true, action: 'subscribe to' }))
          this.#consumers.subscribe(frame);
        return;
      case FrameType.SETTLE:
        for (const s of frame.settlements) this.#consumers.settle(s);
        return;
      case FrameType.UNSUBSCRIBE:
        this.#consumers.unsubscribe(frame.consumer, frame.close);
        return;
      case FrameType.REQUEST:
        if (!this.#refused(frame.request, frame.message.subject, { wildcards: false, action: 'request' }))
          this.#requests.request(frame.request, frame.timeout, frame.message);
        return;
      case FrameType.SERVE:
        if (!this.#refused(frame.responder, frame.subject, { wildcards: true, action: 'serve' }))
          this.#requests.serve(frame.responder, frame.subject);
        return;
      case FrameType.UNSERVE:
        this.#requests.unserve(frame.responder);
        return;
      case FrameType.RESPOND:
        this.#requests.respond(frame.call, frame.reply);
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
  #publish(message: RawMessage, encoded: Uint8Array, done: (error: unknown) => void): void {
    try {
      assertSubject(message.subject, { wildcards: false });
    } catch (error) {
      done(error);
      return;
    }
    if (!this.#permissions?.canPublish(message.subject)) {
      done(unauthorized(this.#permissions, 'publish to', message.subject));
      return;
    }
    this.#context.engine.publishEncoded(message, encoded, done);
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
    if (!error && !allowed) error = unauthorized(permissions, kind.action, subject);
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
      ...(hello.version !== '' ? { version: hello.version } : {}),
      address: this.#peer.address,
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

  async #deadLetters(frame: Extract<Frame, { type: typeof FrameType.DEAD_LETTERS }>): Promise<void> {
    // Read your own writes: this connection's nacks and dead letters land first.
    await this.#consumers.settled();
    const answer = await deadLetterAnswer(frame, {
      permissions: this.#permissions,
      store: this.#context.engine.deadLetters,
      maxFrame: this.#context.maxFrame,
    });
    this.#out.send(answer);
  }
}
