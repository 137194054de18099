/**
 * The Bus's lifecycle: open, then draining, then closed. It tracks what the
 * Bus has running (subscriptions and handlers until they close, their
 * attachment until they are ready) and what it has in flight (publishes and
 * requests), and on close drains them in that order before the transport
 * closes.
 */
import { CourierError } from './errors.js';
import { type Subscription, settleAll } from './subscription.js';
import type { Transport } from './transport.js';

/** The error for a publish or request on a closed bus. */
export function closedBus(): CourierError {
  return new CourierError('CONNECTION_CLOSED', 'the bus is closed; connect again to send or receive');
}

/** What a Bus has running and in flight, and how it drains them on close. */
export class BusLifecycle {
  readonly #transport: Pick<Transport, 'close'>;
  readonly #running = new Set<Subscription>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #attaching = new Set<Promise<void>>();
  #state: 'open' | 'draining' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  /** Publishes and requests sent on the direct path and not yet answered. */
  #outstanding = 0;
  #whenIdle: (() => void) | undefined;

  constructor(transport: Pick<Transport, 'close'>) {
    this.#transport = transport;
  }

  /** True once close has drained the subscriptions: publishes and requests are refused. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** True while a subscription or handler of this bus is still attaching. */
  get attaching(): boolean {
    return this.#attaching.size > 0;
  }

  /** Throws `CONNECTION_CLOSED` unless new subscriptions and handlers are accepted. */
  assertAccepting(): void {
    if (this.#state !== 'open') {
      throw new CourierError(
        'CONNECTION_CLOSED',
        'the bus is closing or closed; connect again to subscribe or handle',
      );
    }
  }

  /** Tracks a subscription or handler until it closes, and its attachment until it is ready. */
  started(running: Subscription): void {
    this.#running.add(running);
    const attached = running.ready.then(
      () => undefined,
      () => undefined,
    );
    this.#attaching.add(attached);
    void attached.then(() => this.#attaching.delete(attached));
  }

  /** A subscription or handler closed: close no longer waits for it. */
  stopped(running: Subscription): void {
    this.#running.delete(running);
  }

  /**
   * Counts a publish or request sent on the direct path until it is answered,
   * so that close waits for it; `answered` maps its result.
   */
  outstanding<T, R>(sent: Promise<T>, answered: (value: T) => R): Promise<R> {
    this.#outstanding++;
    return sent.then(
      (value) => {
        this.#finished();
        return answered(value);
      },
      (error: unknown) => {
        this.#finished();
        throw error;
      },
    );
  }

  /** Runs work on the full path once this bus's attachments are ready; close waits for it. */
  track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#state === 'closed') return Promise.reject(closedBus());
    // Wait for this bus's own subscriptions and handlers to attach, so that `handle` then `request`
    // (or `subscribe` then `publish`) in one breath works on networked engines too.
    const attaching = this.#attaching.size > 0 ? Promise.all([...this.#attaching]) : undefined;
    const running = attaching ? attaching.then(work) : work();
    this.#pending.add(running);
    const forget = (): void => {
      this.#pending.delete(running);
    };
    running.then(forget, forget);
    return running;
  }

  /**
   * Drains and closes, once: subscriptions and handlers first, then the
   * publishes and requests in flight, each within `timeout` ms; then the
   * transport.
   */
  close(timeout: number): Promise<void> {
    this.#closing ??= (async () => {
      // Draining handlers may still publish and request (an invoice after a charge); new subscriptions may not.
      this.#state = 'draining';
      await Promise.allSettled([...this.#running].map((running) => running.close({ timeout })));
      this.#state = 'closed';
      if (this.#outstanding > 0) {
        const idle = new Promise<void>((resolve) => {
          this.#whenIdle = resolve;
        });
        this.#pending.add(idle);
        void idle.then(() => this.#pending.delete(idle));
      }
      await settleAll(this.#pending, timeout);
      await this.#transport.close();
    })();
    return this.#closing;
  }

  /** A direct publish or request was answered. */
  #finished(): void {
    if (--this.#outstanding > 0 || this.#whenIdle === undefined) return;
    const idle = this.#whenIdle;
    this.#whenIdle = undefined;
    idle();
  }
}
