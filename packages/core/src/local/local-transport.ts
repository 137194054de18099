/**
 * A connection to an engine in this process (`LocalEngine`): the memory
 * engine, or the broker's engine when embedded. It keeps what a network
 * connection would: its consumers, responders and waiting requests, all
 * dropped together when it closes or is killed.
 */
import { CourierError } from '../errors.js';
import type { RawMessage } from '../message.js';
import type {
  Capabilities,
  Capability,
  ConsumeOptions,
  Consumer,
  DeadLetterStore,
  Delivery,
  Reply,
  Responder,
  Transport,
} from '../transport.js';
import type { GroupMember, LocalEngine } from './local-engine.js';

/** Options for {@link LocalTransport}. */
export interface LocalTransportOptions<E extends LocalEngine> {
  engine: E;
  /** Capabilities to hide, to exercise the Bus's gap filling. */
  without?: readonly Capability[];
  /**
   * Copy messages on the way in and out (default true), so a caller changing
   * its objects later cannot reach consumers. A server that decodes fresh
   * messages from the wire turns it off.
   */
  copy?: boolean;
}

function copy(message: RawMessage): RawMessage {
  // Engines own what they accept: later changes to the caller's objects must not reach consumers.
  return { ...message, payload: message.payload.slice(), headers: { ...message.headers } };
}

/** A connection to a local engine, with every capability it has but those in `without`. */
export class LocalTransport<E extends LocalEngine = LocalEngine> implements Transport {
  readonly engine: string;
  readonly capabilities: Readonly<Capabilities>;
  readonly local: E;
  readonly deadLetters: DeadLetterStore | undefined;
  readonly #closers = new Set<() => void>();
  readonly #copy: (message: RawMessage) => RawMessage;
  readonly #publishOptions: { dedup: boolean };
  #closed = false;

  constructor(options: LocalTransportOptions<E>) {
    this.#copy = options.copy === false ? (message) => message : copy;
    this.local = options.engine;
    this.engine = options.engine.name;
    const without = new Set(options.without ?? []);
    const has = (capability: Capability): boolean => !without.has(capability);
    this.capabilities = Object.freeze({
      durable: options.engine.durable && has('durable'),
      replay: has('replay'),
      replayFrom: has('replayFrom'),
      keyOrdering: has('keyOrdering'),
      delay: has('delay'),
      nackDelay: has('nackDelay'),
      dedup: has('dedup'),
      request: has('request'),
      deadLetter: has('deadLetter'),
      maxPayload: options.engine.maxPayload,
    });
    this.deadLetters = this.capabilities.deadLetter ? options.engine.deadLetters : undefined;
    this.#publishOptions = { dedup: this.capabilities.dedup };
  }

  #open(): void {
    if (this.#closed)
      throw new CourierError('CONNECTION_CLOSED', `the ${this.engine} transport is closed; connect again`);
  }

  #unsupported(capability: Capability): CourierError {
    return new CourierError(
      'UNSUPPORTED',
      `the ${this.engine} engine was connected without the ${capability} capability; remove it from \`without\``,
      { data: { capability, engine: this.engine } },
    );
  }

  #require(capability: Capability): void {
    if (!this.capabilities[capability]) throw this.#unsupported(capability);
  }

  publish(message: RawMessage): Promise<void> {
    try {
      this.#open();
      return this.local.publish(this.#copy(message), this.#publishOptions);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#open();
    if (options.deliver === 'all') this.#require('replay');
    if (typeof options.deliver === 'object') this.#require('replayFrom');
    const deadLetter = this.capabilities.deadLetter;
    const member: GroupMember = {
      maxInFlight: options.maxInFlight,
      ackWait: options.ackWait,
      nackDelay: this.capabilities.nackDelay,
      inFlight: 0,
      stopped: false,
      deliver: (delivery) => {
        if (deadLetter) onDelivery(delivery);
        else onDelivery({ ...delivery, deadLetter: () => Promise.reject(this.#unsupported('deadLetter')) });
      },
    };
    const attachment = await this.local.attach(
      { ...options, schedule: this.capabilities.delay, orderKeys: this.capabilities.keyOrdering },
      member,
    );
    const close = (): void => {
      if (!this.#closers.delete(close)) return;
      attachment.detach();
    };
    this.#closers.add(close);
    if (this.#closed) close(); // killed while attaching
    return {
      stop: async () => {
        member.stopped = true;
      },
      close: async () => close(),
    };
  }

  async request(message: RawMessage, options: { timeout: number }): Promise<Reply> {
    this.#open();
    this.#require('request');
    const responder = this.local.responders.pick(message.subject);
    const request = this.#copy(message);
    return new Promise<Reply>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#closers.delete(abort);
      };
      const abort = (): void => {
        finish();
        reject(
          new CourierError(
            'CONNECTION_CLOSED',
            `the connection closed while waiting for a reply on ${message.subject}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new CourierError(
            'TIMEOUT',
            `no reply on ${message.subject} within ${options.timeout} ms; the handler may still be running: raise timeout or make the handler faster`,
            { data: { subject: message.subject, timeout: options.timeout } },
          ),
        );
      }, options.timeout);
      this.#closers.add(abort);
      responder.outstanding++;
      responder.handler(request).then(
        (reply) => {
          responder.outstanding--;
          if (!this.#closers.has(abort)) return; // timed out or closed: the late reply is dropped
          finish();
          resolve(reply.ok ? { ...reply, payload: reply.payload.slice() } : reply);
        },
        (error: unknown) => {
          responder.outstanding--;
          if (!this.#closers.has(abort)) return;
          finish();
          reject(error);
        },
      );
    });
  }

  async serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    this.#open();
    this.#require('request');
    // A reply from a connection that died meanwhile never leaves it: the caller times out, as on a network.
    const entry = this.local.responders.add(subject, async (request) => {
      const reply = await handler(request);
      return this.#closed ? new Promise<Reply>(() => undefined) : reply;
    });
    const close = (): void => {
      this.#closers.delete(close);
      this.local.responders.remove(entry);
    };
    this.#closers.add(close);
    return { close: async () => close() };
  }

  /**
   * Drops the connection at once, as a crashed process would: unsettled
   * deliveries return to their groups, responders vanish, waiting requests
   * fail with `CONNECTION_CLOSED`.
   */
  kill(): void {
    this.#closed = true;
    for (const close of [...this.#closers]) close();
  }

  async close(): Promise<void> {
    this.kill();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
