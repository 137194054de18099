/**
 * A connection's request-reply, both ways. The client's REQUEST goes to one
 * responder through the connection's `LocalTransport` and comes back as
 * REPLY, or as ERROR when the engine fails it. SERVE makes the client a
 * responder: each call the engine routes to it goes out as INCOMING under a
 * call number and waits for the client's RESPOND. The connection checks the
 * subject and the client's rights before it hands a frame here.
 */
import {
  type LocalTransport,
  type Reply,
  type Responder,
  toCourierError,
  type WireError,
} from '@courier/core';
import type { BrokerEngine } from '../engine/broker-engine.js';
import type { Registration } from '../engine/service-registry.js';
import { type Frame, FrameType } from '../protocol/frame-types.js';

const wire = (error: unknown): WireError => toCourierError(error).toWire();

/** See the module comment. */
export class RequestRelay {
  readonly #transport: LocalTransport<BrokerEngine>;
  readonly #send: (frame: Frame) => void;
  readonly #registration: () => Registration | undefined;
  readonly #responders = new Map<number, Responder>();
  readonly #calls = new Map<number, (reply: Reply) => void>();
  #nextCall = 0;

  /** `registration` is the connection's entry in the service registry, once it has one. */
  constructor(options: {
    transport: LocalTransport<BrokerEngine>;
    send: (frame: Frame) => void;
    registration: () => Registration | undefined;
  }) {
    this.#transport = options.transport;
    this.#send = options.send;
    this.#registration = options.registration;
  }

  /** Sends the client's request `id` to a responder, answering REPLY or ERROR. */
  request(id: number, timeout: number, message: Parameters<LocalTransport['request']>[0]): void {
    // A handler's error is a reply; the engine's own (NO_RESPONDERS, TIMEOUT) is an ERROR for the request.
    this.#registration()?.requested(message.subject);
    this.#transport.request(message, { timeout }).then(
      (reply) => this.#send({ type: FrameType.REPLY, request: id, reply }),
      (error: unknown) => this.#send({ type: FrameType.ERROR, ref: id, error: wire(error) }),
    );
  }

  /** Makes the client responder `id` for `subject`, answering SERVING or ERROR. */
  serve(id: number, subject: string): void {
    this.#transport
      .serve(subject, (message) => {
        const call = ++this.#nextCall >>> 0;
        return new Promise<Reply>((resolve) => {
          this.#calls.set(call, resolve);
          this.#send({ type: FrameType.INCOMING, responder: id, call, message });
        });
      })
      .then(
        (responder) => {
          this.#responders.set(id, responder);
          this.#registration()?.handlers.add(subject);
          this.#send({ type: FrameType.SERVING, responder: id });
        },
        (error: unknown) => this.#send({ type: FrameType.ERROR, ref: id, error: wire(error) }),
      );
  }

  /** Closes responder `id`; an unknown one is ignored. */
  unserve(id: number): void {
    void this.#responders.get(id)?.close();
    this.#responders.delete(id);
  }

  /** Answers a call sent as INCOMING; an unknown or answered call is ignored. */
  respond(call: number, reply: Reply): void {
    this.#calls.get(call)?.(reply);
    this.#calls.delete(call);
  }
}
