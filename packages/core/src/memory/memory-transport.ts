/**
 * The memory transport: a connection to a `MemoryEngine` in the same
 * process, with every capability. Applications use it in their unit tests;
 * `without` hides capabilities so the Bus's gap filling can be tested too.
 */
import { CourierError } from '../errors.js';
import type { RawMessage } from '../message.js';
import type {
  Capabilities,
  Capability,
  ConsumeOptions,
  Consumer,
  Delivery,
  Reply,
  Responder,
  Transport,
} from '../transport.js';
import { MemoryEngine } from './memory-engine.js';
import type { GroupMember } from './memory-group.js';

/** Options for {@link memoryTransport}. */
export interface MemoryTransportOptions {
  /** The engine to connect to. Default: a new private engine. */
  engine?: MemoryEngine;
  /** Capabilities to hide, to exercise the Bus's gap filling. */
  without?: readonly Capability[];
}

function copy(message: RawMessage): RawMessage {
  // Engines own what they accept: later changes to the caller's objects must not reach consumers.
  return { ...message, payload: message.payload.slice(), headers: { ...message.headers } };
}

/** A connection to a memory engine. */
export class MemoryTransport implements Transport {
  readonly engine = 'memory';
  readonly capabilities: Readonly<Capabilities>;
  readonly memory: MemoryEngine;
  readonly #closers = new Set<() => void>();
  #closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.memory = options.engine ?? new MemoryEngine();
    const without = new Set(options.without ?? []);
    const has = (capability: Capability): boolean => !without.has(capability);
    this.capabilities = Object.freeze({
      durable: false,
      replay: has('replay'),
      keyOrdering: has('keyOrdering'),
      delay: has('delay'),
      nackDelay: has('nackDelay'),
      dedup: has('dedup'),
      request: has('request'),
      deadLetter: has('deadLetter'),
      maxPayload: this.memory.maxPayload,
    });
    if (this.capabilities.deadLetter) this.deadLetters = this.memory.deadLetters;
  }

  readonly deadLetters?: Transport['deadLetters'];

  #open(): void {
    if (this.#closed)
      throw new CourierError('CONNECTION_CLOSED', 'the memory transport is closed; connect again');
  }

  #require(capability: Capability): void {
    if (!this.capabilities[capability]) throw this.#unsupported(capability);
  }

  #unsupported(capability: Capability): CourierError {
    return new CourierError(
      'UNSUPPORTED',
      `the memory engine was connected without the ${capability} capability; remove it from \`without\``,
      { data: { capability, engine: 'memory' } },
    );
  }

  async publish(message: RawMessage): Promise<void> {
    this.#open();
    this.memory.publish(copy(message), { dedup: this.capabilities.dedup });
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#open();
    if (options.deliver === 'all') this.#require('replay');
    const deadLetter = this.capabilities.deadLetter;
    const member: GroupMember = {
      maxInFlight: options.maxInFlight,
      ackWait: options.ackWait,
      nackDelay: this.capabilities.nackDelay,
      inFlight: 0,
      stopped: false,
      deliver: (delivery) => {
        if (deadLetter) onDelivery(delivery);
        else
          onDelivery({
            ...delivery,
            deadLetter: () => Promise.reject(new CourierError('UNSUPPORTED', 'no dead letters here')),
          });
      },
    };
    const group = this.memory.attach(
      { ...options, schedule: this.capabilities.delay, orderKeys: this.capabilities.keyOrdering },
      member,
    );
    const close = (): void => {
      if (!this.#closers.delete(close)) return;
      this.memory.detach(group, member);
    };
    this.#closers.add(close);
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
    const responder = this.memory.pickResponder(message.subject);
    const request = copy(message);
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
            {
              data: { subject: message.subject, timeout: options.timeout },
            },
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
    const entry = this.memory.addResponder(subject, async (request) => {
      const reply = await handler(request);
      return this.#closed ? new Promise<Reply>(() => undefined) : reply;
    });
    const close = (): void => {
      this.#closers.delete(close);
      this.memory.removeResponder(entry);
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

/** A memory transport; see {@link MemoryTransportOptions}. */
export function memoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  return new MemoryTransport(options);
}
