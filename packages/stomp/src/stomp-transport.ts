/**
 * The STOMP transport: Courier on ActiveMQ Classic. Publishes are persistent
 * SENDs to the subject's virtual topic that resolve on the broker's RECEIPT
 * (after KahaDB has synced them); groups are virtual-topic consumer queues;
 * retries, delays and dead letters are the broker's (scheduler, transactions,
 * a dead-letter queue per group); requests go through queues and temporary
 * reply queues, with consumer advisories to fail fast on `NO_RESPONDERS`.
 *
 * The connection heals itself: when it drops, the transport reconnects with
 * backoff, subscribes every member and responder again, and resumes. What
 * was in flight on the dead connection fails with `CONNECTION_CLOSED` (a
 * publish that did not get its receipt may or may not be stored, so the
 * caller decides), and unacked deliveries go back to their groups.
 */
import {
  assertSize,
  type Capabilities,
  type ConsumeOptions,
  type Consumer,
  CourierError,
  type DeadLetterStore,
  type Delivery,
  type RawMessage,
  type Reply,
  type Responder,
  type Transport,
} from '@courier/core';
import { deadLetterStore } from './dead-letter-store.js';
import { messageHeaders } from './message-frames.js';
import { topicFor } from './names.js';
import { Requester, StompResponder } from './request-reply.js';
import { ResponderRegistry } from './responder-registry.js';
import { StompConnection, type StompConnectionOptions } from './stomp-connection.js';
import { StompMember } from './stomp-member.js';

/** Options for {@link StompTransport}. */
export interface StompTransportOptions extends Omit<StompConnectionOptions, 'maxBody'> {
  /** The largest message accepted, as `messageSize` counts it. Default 1 MiB. */
  maxPayload?: number;
  /**
   * Whether the broker runs its scheduler (`schedulerSupport="true"`), which
   * native delays and retry backoff need. Default true. With false the
   * transport declares neither `delay` nor `nackDelay` and the Bus fills both.
   */
  scheduler?: boolean;
  /** First reconnect delay in ms, doubled up to `maxReconnectDelay`. Default 100. */
  reconnectDelay?: number;
  /** Default 2000. */
  maxReconnectDelay?: number;
}

interface Attachment {
  attach(connection: StompConnection): Promise<void>;
}

/** A connection to a STOMP broker (ActiveMQ Classic). */
export class StompTransport implements Transport {
  readonly engine = 'stomp';
  readonly capabilities: Readonly<Capabilities>;
  readonly deadLetters: DeadLetterStore;
  readonly #options: StompTransportOptions;
  readonly #attachments = new Set<Attachment>();
  readonly #requester = new Requester();
  readonly #registry: ResponderRegistry;
  #connection: StompConnection | undefined;
  #reconnecting: Promise<StompConnection> | undefined;
  #closed: CourierError | undefined;
  #seq = 0;

  private constructor(options: StompTransportOptions, connection: StompConnection) {
    this.#options = options;
    const scheduler = options.scheduler ?? true;
    this.capabilities = Object.freeze({
      durable: true,
      replay: false,
      keyOrdering: false,
      delay: scheduler,
      nackDelay: scheduler,
      dedup: false,
      request: true,
      deadLetter: true,
      maxPayload: options.maxPayload ?? 1024 * 1024,
    });
    this.deadLetters = deadLetterStore(() => this.#live());
    this.#registry = new ResponderRegistry(() => this.#open());
    this.#adopt(connection);
  }

  /**
   * Connects to the broker.
   * @throws CourierError `CONNECTION_CLOSED` when it cannot be reached, `UNAUTHORIZED` when it refuses the login.
   */
  static async connect(options: StompTransportOptions): Promise<StompTransport> {
    const transport = new StompTransport(options, await StompConnection.open(connectionOptions(options)));
    return transport;
  }

  /** Why requests cannot fail fast with NO_RESPONDERS on this broker, if they cannot. */
  get advisoryProblem(): string | undefined {
    return this.#registry.problem;
  }

  async publish(message: RawMessage): Promise<void> {
    this.#assertOpen();
    assertSize(message, this.capabilities.maxPayload, this.engine);
    const headers: Record<string, string> = {
      ...messageHeaders(message),
      destination: topicFor(message.subject),
      persistent: 'true',
    };
    const delay = message.deliverAt === undefined ? 0 : message.deliverAt - Date.now();
    if (delay > 0 && this.capabilities.delay) headers['AMQ_SCHEDULED_DELAY'] = String(delay);
    const connection = await this.#live();
    await connection.call('SEND', headers, message.payload).catch((error: unknown) => {
      throw this.#failure(error, `publish to ${message.subject}`);
    });
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#assertOpen();
    const member = new StompMember({
      id: `m${++this.#seq}`,
      subject: options.subject,
      group: options.group,
      durable: options.durable,
      maxInFlight: Math.max(1, options.maxInFlight),
      ackWait: options.ackWait,
      onDelivery,
      onError: () => undefined,
    });
    await member.attach(await this.#live());
    this.#attachments.add(member);
    return {
      stop: async () => member.stop(),
      close: async () => {
        this.#attachments.delete(member);
        await member.close();
      },
    };
  }

  async request(message: RawMessage, options: { timeout: number }): Promise<Reply> {
    this.#assertOpen();
    assertSize(message, this.capabilities.maxPayload, this.engine);
    if ((await this.#registry.ready()) && !this.#registry.has(message.subject)) {
      throw new CourierError(
        'NO_RESPONDERS',
        `no handler is registered for ${message.subject}; start a service that handles it`,
        {
          data: { subject: message.subject },
        },
      );
    }
    return this.#requester.request(await this.#live(), message, options.timeout);
  }

  async serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    this.#assertOpen();
    const responder = new StompResponder({ id: `r${++this.#seq}`, pattern: subject, handler });
    await responder.attach(await this.#live());
    this.#attachments.add(responder);
    // Resolve once the broker has announced it, so that requests that follow find it.
    await this.#registry.waitFor(subject, 3000);
    return {
      close: async () => {
        this.#attachments.delete(responder);
        await responder.close();
      },
    };
  }

  /**
   * Drops the connection at once, as a crashed process would, and never
   * reconnects: unacked deliveries go back to their groups.
   */
  kill(): void {
    this.#closed ??= new CourierError('CONNECTION_CLOSED', 'the STOMP transport was killed');
    this.#attachments.clear();
    this.#connection?.destroy(this.#closed);
    void this.#registry.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = new CourierError('CONNECTION_CLOSED', 'the STOMP transport is closed');
    const connection = this.#connection;
    this.#attachments.clear();
    await this.#registry.close();
    await connection?.disconnect();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closed;
  }

  #failure(error: unknown, what: string): unknown {
    if (CourierError.is(error, 'CONNECTION_CLOSED')) {
      return new CourierError(
        'CONNECTION_CLOSED',
        `the STOMP connection closed before the broker confirmed the ${what}; it may or may not be stored`,
        { cause: error },
      );
    }
    return error;
  }

  #open(): Promise<StompConnection> {
    return StompConnection.open(connectionOptions(this.#options));
  }

  #adopt(connection: StompConnection): void {
    this.#connection = connection;
    connection.onClose((error) => {
      this.#requester.lost(connection, error);
      if (this.#closed || this.#connection !== connection) return;
      void this.#reconnect().catch(() => undefined);
    });
  }

  /** The live connection, waiting for a reconnect (at most `connectTimeout`) when it dropped. */
  async #live(): Promise<StompConnection> {
    this.#assertOpen();
    const current = this.#connection;
    if (current && !current.closed) return current;
    const timeout = this.#options.connectTimeout ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.#reconnect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new CourierError(
                  'CONNECTION_CLOSED',
                  `the STOMP broker at ${this.#options.host}:${this.#options.port} has been unreachable for ${timeout} ms; the transport keeps trying`,
                ),
              ),
            timeout,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #reconnect(): Promise<StompConnection> {
    this.#reconnecting ??= (async () => {
      let delay = this.#options.reconnectDelay ?? 100;
      for (;;) {
        this.#assertOpen();
        try {
          const connection = await this.#open();
          if (this.#closed) {
            connection.destroy();
            this.#assertOpen();
          }
          this.#adopt(connection);
          for (const attachment of this.#attachments) await attachment.attach(connection);
          return connection;
        } catch (error) {
          if (this.#closed) throw this.#closed;
          if (CourierError.is(error, 'UNAUTHORIZED')) throw error;
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
          delay = Math.min(delay * 2, this.#options.maxReconnectDelay ?? 2000);
        }
      }
    })().finally(() => {
      this.#reconnecting = undefined;
    });
    return this.#reconnecting;
  }
}

function connectionOptions(options: StompTransportOptions): StompConnectionOptions {
  const maxPayload = options.maxPayload ?? 1024 * 1024;
  // Generous: a larger frame from a foreign producer would otherwise end the connection on every redelivery.
  return { ...options, maxBody: Math.max(maxPayload * 4, 16 * 1024 * 1024) };
}
