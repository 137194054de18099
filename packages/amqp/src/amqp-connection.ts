/**
 * The connection to RabbitMQ and its recovery. amqplib does not reconnect
 * by itself (its opt-in recovery reconnects the socket but recreates no
 * channel), so this owns the loop: on any loss it reconnects with
 * exponential backoff and jitter, redeclares the topology, and asks every
 * member (consumers, responders, the publisher) to attach again to the new
 * link. Each successful connection is a `Link` with an epoch; work bound to
 * an older epoch knows its channel is gone.
 */
import { CourierError } from '@courier/core';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';

/** One live connection: its channel model, the shared confirm channel, and an admin channel for declarations. */
export interface Link {
  readonly epoch: number;
  readonly model: ChannelModel;
  /** The publisher's confirm channel. */
  readonly confirm: ConfirmChannel;
  /** A channel for declarations, recreated if a channel error closed it. */
  admin(): Promise<Channel>;
}

/** Something that lives on the connection and must be set up again after a reconnect. */
export interface Member {
  /** Sets up on a new link; handles (and retries) its own failures; resolves once set up or given up. */
  attach(link: Link): Promise<void> | void;
  /** The link is gone; channels on it are dead. */
  detach(): void;
}

// How long waiters wait for members to attach to a new link before going on without the slow ones.
const ATTACH_WAIT = 5000;

/** Options of {@link AmqpConnection}. */
export interface AmqpConnectionOptions {
  readonly url: string;
  readonly socket: Record<string, unknown>;
  /** First reconnect delay, ms. */
  readonly initialDelay: number;
  /** Largest reconnect delay, ms. */
  readonly maxDelay: number;
  /** Runs on every new link before members attach: declares the exchanges. */
  readonly setup: (link: Link) => Promise<void>;
}

/** Backoff for attempt `n` (0-based): exponential from `initial`, capped at `max`, ±20% jitter. */
export function backoff(n: number, initial: number, max: number): number {
  const base = Math.min(max, initial * 2 ** Math.min(n, 20));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Turns a connection failure into a CourierError that says what to check. */
export function connectError(error: unknown, where: string): CourierError {
  const message = error instanceof Error ? error.message : String(error);
  if (/ACCESS_REFUSED|403|authentication/i.test(message)) {
    return new CourierError(
      'UNAUTHORIZED',
      `RabbitMQ at ${where} refused the credentials: ${message}; check the user and password in the URL`,
      { cause: error },
    );
  }
  if (/NOT_ALLOWED|ConnectionClose/.test(message)) {
    return new CourierError(
      'UNAUTHORIZED',
      `RabbitMQ at ${where} refused to open the connection: ${message}; check that the vhost in the URL exists and that the user may access it`,
      { cause: error },
    );
  }
  return new CourierError(
    'CONNECTION_CLOSED',
    `could not connect to RabbitMQ at ${where}: ${message}; check that it is running and reachable`,
    { cause: error },
  );
}

/** The recovering connection. */
export class AmqpConnection {
  readonly #options: AmqpConnectionOptions;
  readonly #members = new Set<Member>();
  readonly #waiters = new Set<{ resolve(link: Link): void; reject(error: unknown): void }>();
  #link: Link | undefined;
  /** The link's members have attached (or had their chance): requests may count on its responders. */
  #ready = false;
  #epoch = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #dead = new WeakSet<Link>();

  constructor(options: AmqpConnectionOptions) {
    this.#options = options;
  }

  /** The current link, if up. */
  get link(): Link | undefined {
    return this.#link;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connects the first time; rejects (without retrying) when the broker cannot be reached. */
  async open(): Promise<void> {
    await this.#connect();
  }

  /** Resolves with the live link, waiting for a reconnect if needed; rejects once closed. */
  whenUp(): Promise<Link> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#link && this.#ready) return Promise.resolve(this.#link);
    return new Promise((resolve, reject) => {
      this.#waiters.add({ resolve, reject });
    });
  }

  /** Adds a member; it attaches now if the link is up, and after every reconnect. */
  add(member: Member): void {
    this.#members.add(member);
  }

  remove(member: Member): void {
    this.#members.delete(member);
  }

  /** Reports that `link` failed (a closed connection or shared channel); reconnects unless closed. */
  lost(link: Link): void {
    if (this.#dead.has(link)) return;
    this.#dead.add(link);
    if (link !== this.#link) return;
    this.#link = undefined;
    this.#ready = false;
    link.model.close().catch(() => undefined);
    for (const member of this.#members) member.detach();
    this.#schedule();
  }

  /** Closes for good: no more reconnects; waiters reject with CONNECTION_CLOSED. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const waiter of this.#waiters) waiter.reject(closedError());
    this.#waiters.clear();
    const link = this.#link;
    this.#link = undefined;
    for (const member of this.#members) member.detach();
    this.#members.clear();
    if (link) await link.model.close().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    const delay = backoff(this.#failures++, this.#options.initialDelay, this.#options.maxDelay);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch(() => this.#schedule());
    }, delay);
  }

  async #connect(): Promise<void> {
    const model = await amqp.connect(this.#options.url, this.#options.socket);
    if (this.#closed) {
      await model.close().catch(() => undefined);
      throw closedError();
    }
    let current: Link | undefined;
    // Errors are followed by 'close'; the listener only keeps them from being thrown.
    model.on('error', () => undefined);
    model.on('close', () => {
      if (current) this.lost(current);
    });
    try {
      const confirm = await model.createConfirmChannel();
      confirm.on('error', () => undefined);
      let admin: Promise<Channel> | undefined;
      current = {
        epoch: ++this.#epoch,
        model,
        confirm,
        admin: () => {
          admin ??= model.createChannel().then((channel) => {
            channel.on('error', () => undefined);
            channel.on('close', () => {
              admin = undefined;
            });
            return channel;
          });
          return admin;
        },
      };
      const created = current;
      confirm.on('close', () => this.lost(created));
      await this.#options.setup(created);
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
    const link = current;
    if (this.#closed || this.#dead.has(link)) {
      await model.close().catch(() => undefined);
      throw this.#closed ? closedError() : new Error('the connection dropped while it was being set up');
    }
    this.#link = link;
    this.#failures = 0;
    // Members attach before waiters go on, so a request right after a reconnect finds this
    // transport's own responders again; a member that cannot attach retries on its own.
    const attaching = [...this.#members].map((member) =>
      Promise.resolve(member.attach(link)).catch(() => undefined),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(attaching),
      new Promise((resolve) => {
        timer = setTimeout(resolve, ATTACH_WAIT);
      }),
    ]);
    clearTimeout(timer);
    if (this.#link !== link) return;
    this.#ready = true;
    for (const waiter of this.#waiters) waiter.resolve(link);
    this.#waiters.clear();
  }
}

function closedError(): CourierError {
  return new CourierError('CONNECTION_CLOSED', 'the RabbitMQ transport is closed; connect again to use it');
}
