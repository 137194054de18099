/**
 * One AMQP 1.0 connection (rhea) with what the transport needs on top:
 * waiting until it is open, learning the server's product, senders cached
 * per target address, and a `send` that resolves on the broker's outcome
 * (accepted) and rejects on rejected, released or modified. rhea reconnects
 * by itself and re-attaches every link; sends in flight when the connection
 * drops reject with `CONNECTION_CLOSED` (retryable), since the broker may
 * not have stored them.
 */
import { CourierError } from '@courier/core';
import rhea from 'rhea';
import type { AmqpMessage } from './amqp-message.js';
import {
  describe,
  linkError,
  type OwnedReceiver,
  type RheaConnection,
  type RheaContext,
  type RheaDelivery,
  type RheaLink,
} from './rhea-types.js';

/** Where and how to connect. */
export interface ConnectionSettings {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** Sent as the AMQP container id. */
  containerId: string;
  /** How long to wait for the first open, in ms. */
  connectTimeout: number;
}

/** Marks the error of a send cut off by a lost connection, which `send` retries. */
const LOST = 'connection-lost';

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
  address: string;
}

/** An open AMQP 1.0 connection with cached senders. */
export class AmqpConnection {
  readonly #connection: RheaConnection;
  readonly #senders = new Map<string, { link: RheaLink; opened: Promise<void> }>();
  readonly #pending = new Map<RheaDelivery, Pending>();
  readonly #listeners = new Set<(up: boolean) => void>();
  /** Sends waiting for credit; woken by `sendable`, (re)open and close. */
  readonly #creditWaiters = new Set<() => void>();
  #up = false;
  #closed = false;
  #waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  #lastError: unknown;

  private constructor(connection: RheaConnection) {
    this.#connection = connection;
    connection.on('connection_open', () => {
      this.#up = true;
      for (const w of this.#waiters.splice(0)) w.resolve();
      for (const listener of this.#listeners) listener(true);
      for (const check of [...this.#creditWaiters]) check();
    });
    connection.on('sendable', () => {
      for (const check of [...this.#creditWaiters]) check();
    });
    connection.on('disconnected', (context) => {
      this.#lastError = context.error;
      const wasUp = this.#up;
      this.#up = false;
      const failure = new CourierError(
        'CONNECTION_CLOSED',
        `the AMQP 1.0 connection was lost (${describe(context.error ?? 'closed')}) before the broker confirmed; publish again`,
        { cause: context.error, data: LOST },
      );
      for (const [delivery, pending] of this.#pending) {
        this.#pending.delete(delivery);
        pending.reject(failure);
      }
      if (wasUp) for (const listener of this.#listeners) listener(false);
    });
    connection.on('connection_error', (context) => {
      this.#lastError = context.error;
    });
    // rhea throws unhandled `error` events; every failure is reported through the waiting calls instead.
    connection.on('error', (context) => {
      this.#lastError = context.error;
    });
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'] as const) {
      connection.on(outcome, (context) => this.#settled(outcome, context));
    }
  }

  /** Connects and waits until the broker has opened the connection. */
  static async open(settings: ConnectionSettings): Promise<AmqpConnection> {
    const container = rhea.create_container({ id: settings.containerId });
    const options: Record<string, unknown> = {
      host: settings.host,
      port: settings.port,
      reconnect: true,
      initial_reconnect_delay: 50,
      max_reconnect_delay: 2000,
      idle_time_out: 30_000,
    };
    if (settings.tls) options['transport'] = 'tls';
    if (settings.username !== undefined) options['username'] = settings.username;
    if (settings.password !== undefined) options['password'] = settings.password;
    const connection = container.connect(
      options as unknown as Parameters<typeof container.connect>[0],
    ) as unknown as RheaConnection;
    const wrapped = new AmqpConnection(connection);
    try {
      await wrapped.ready(settings.connectTimeout);
    } catch (error) {
      await wrapped.close();
      throw error;
    }
    return wrapped;
  }

  /** The server's open properties (`product`, `version`), if it sent any. */
  get serverProperties(): Record<string, unknown> {
    return this.#connection.remote?.open?.properties ?? {};
  }

  get isUp(): boolean {
    return this.#up;
  }

  /** Called with `true` on every (re)open and `false` on every loss. */
  onState(listener: (up: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when the connection is open; rejects when closed or after `timeout` ms. */
  ready(timeout: number): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new CourierError(
            'CONNECTION_CLOSED',
            `could not open an AMQP 1.0 connection within ${timeout} ms${this.#lastError ? ` (${describe(this.#lastError)})` : ''}; check the URL, the credentials and that the broker speaks AMQP 1.0`,
            { cause: this.#lastError },
          ),
        );
      }, timeout);
      this.#waiters.push(waiter);
    });
  }

  #closedError(): CourierError {
    return new CourierError('CONNECTION_CLOSED', 'the AMQP 1.0 connection is closed; connect again');
  }

  /** Opens a receiver link on a session of its own (the caller handles the link's events). */
  openReceiver(options: unknown): OwnedReceiver {
    if (this.#closed) throw this.#closedError();
    const session = this.#connection.create_session();
    session.open();
    const link = session.open_receiver(options);
    let closing: Promise<void> | undefined;
    return {
      link,
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          if (!this.#up || !session.is_open()) {
            session.close();
            return resolve();
          }
          const timer = setTimeout(resolve, 2000);
          session.on('session_close', () => {
            clearTimeout(timer);
            resolve();
          });
          session.on('session_error', () => undefined);
          session.close();
        });
        return closing;
      },
    };
  }

  /** Opens a sender link that the caller manages (not cached). */
  openSender(options: unknown): RheaLink {
    if (this.#closed) throw this.#closedError();
    return this.#connection.open_sender(options);
  }

  #sender(address: string): { link: RheaLink; opened: Promise<void> } {
    let entry = this.#senders.get(address);
    if (entry && !entry.link.is_open() && entry.link.error !== undefined) {
      this.#senders.delete(address);
      entry = undefined;
    }
    if (entry) return entry;
    const link = this.#connection.open_sender({ target: { address }, autosettle: true });
    const opened = new Promise<void>((resolve, reject) => {
      link.on('sender_open', () => resolve());
      link.on('sender_error', (context) => {
        this.#senders.delete(address);
        reject(linkError(context.error ?? link.error, `cannot send to ${address}`));
      });
      link.on('sender_close', () => {
        this.#senders.delete(address);
        reject(linkError(link.error, `cannot send to ${address}`));
      });
    });
    opened.catch(() => undefined);
    entry = { link, opened };
    this.#senders.set(address, entry);
    // Keep the cache bounded: a broker with one queue per subject would otherwise grow it forever.
    if (this.#senders.size > 512) {
      const [oldest, old] = this.#senders.entries().next().value as [string, { link: RheaLink }];
      this.#senders.delete(oldest);
      old.link.close();
    }
    return entry;
  }

  /**
   * Sends a message and resolves once the broker accepted it. A send cut off
   * by a lost connection is sent again once rhea has reconnected (the broker
   * may then hold it twice: at least once), until `timeout` ms have passed.
   */
  async send(address: string, message: AmqpMessage, timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      try {
        return await this.#sendOnce(address, message, Math.max(deadline - Date.now(), 1));
      } catch (error) {
        const lost = error instanceof CourierError && error.data === LOST;
        if (!lost || this.#closed || Date.now() >= deadline) throw error;
      }
    }
  }

  async #sendOnce(address: string, message: AmqpMessage, timeout: number): Promise<void> {
    if (this.#closed) throw this.#closedError();
    await this.ready(timeout);
    const { link, opened } = this.#sender(address);
    await opened;
    await this.#sendable(link, timeout);
    if (this.#closed) throw this.#closedError();
    await new Promise<void>((resolve, reject) => {
      const delivery = (link.send as (m: AmqpMessage) => RheaDelivery)(message);
      this.#pending.set(delivery, { resolve, reject, address });
    });
  }

  #sendable(link: RheaLink, timeout: number): Promise<void> {
    if (link.sendable?.() && this.#up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (error?: unknown): void => {
        clearTimeout(timer);
        this.#creditWaiters.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = (): void => {
        if (this.#closed) finish(this.#closedError());
        else if (link.sendable?.() && this.#up) finish();
      };
      const timer = setTimeout(
        () =>
          finish(
            new CourierError('TIMEOUT', `the broker gave no credit to send within ${timeout} ms`, {
              retryable: true,
            }),
          ),
        timeout,
      );
      this.#creditWaiters.add(check);
    });
  }

  #settled(outcome: 'accepted' | 'rejected' | 'released' | 'modified', context: RheaContext): void {
    const delivery = context.delivery;
    if (!delivery) return;
    const pending = this.#pending.get(delivery);
    if (!pending) return;
    this.#pending.delete(delivery);
    if (outcome === 'accepted') {
      pending.resolve();
      return;
    }
    const state = (delivery as { remote_state?: { error?: unknown } }).remote_state;
    if (outcome === 'rejected') {
      pending.reject(
        new CourierError(
          'INTERNAL',
          `the broker rejected the message sent to ${pending.address}: ${describe(state?.error ?? 'no reason given')}`,
          { retryable: false, cause: state?.error },
        ),
      );
      return;
    }
    pending.reject(
      new CourierError(
        'INTERNAL',
        `the broker ${outcome} the message sent to ${pending.address} without storing it; publish it again`,
        { retryable: true },
      ),
    );
  }

  /** Drops the socket without a goodbye, as a crashed process would, and never reconnects. */
  kill(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.set_reconnect(false);
    this.#connection.socket?.destroy();
    const error = this.#closedError();
    for (const w of this.#waiters.splice(0)) w.reject(error);
    for (const check of [...this.#creditWaiters]) check();
    for (const [delivery, pending] of this.#pending) {
      this.#pending.delete(delivery);
      pending.reject(error);
    }
    this.#up = false;
  }

  /** Closes the connection; nothing reconnects afterwards. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = this.#closedError();
    for (const w of this.#waiters.splice(0)) w.reject(error);
    for (const check of [...this.#creditWaiters]) check();
    for (const [delivery, pending] of this.#pending) {
      this.#pending.delete(delivery);
      pending.reject(error);
    }
    this.#connection.set_reconnect(false);
    const wasUp = this.#up;
    await new Promise<void>((resolve) => {
      if (!wasUp) {
        this.#connection.close();
        return resolve();
      }
      const timer = setTimeout(resolve, 2000);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#connection.on('connection_close', done);
      this.#connection.on('disconnected', done);
      this.#connection.close();
    });
    this.#up = false;
    this.#listeners.clear();
  }
}
