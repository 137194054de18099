/**
 * The parts of rhea's objects that Courier uses, typed (rhea's own typings
 * are mostly `any`), and how a broker's error condition becomes a Courier
 * error.
 */
import { CourierError } from '@courier/core';
import type { AmqpMessage } from './amqp-message.js';

/** A rhea link, as far as Courier uses it. */
export interface RheaLink {
  on(event: string, listener: (context: RheaContext) => void): void;
  close(): void;
  is_open(): boolean;
  sendable?(): boolean;
  send?(message: AmqpMessage): RheaDelivery;
  add_credit?(credit: number): void;
  drain?: boolean;
  credit?: number;
  error?: unknown;
}

/** A rhea delivery. */
export interface RheaDelivery {
  readonly remote_settled: boolean;
  readonly settled: boolean;
  update(settled: boolean, state?: unknown): void;
  accept(): void;
  release(params?: { delivery_failed?: boolean; undeliverable_here?: boolean }): void;
  reject(error?: { condition: string; description?: string }): void;
  modified(params?: { delivery_failed?: boolean; undeliverable_here?: boolean }): void;
}

/** What rhea passes to event listeners. */
export interface RheaContext {
  message?: AmqpMessage;
  delivery?: RheaDelivery;
  error?: unknown;
  reconnecting?: boolean;
}

/** A rhea session. */
export interface RheaSession {
  on(event: string, listener: (context: RheaContext) => void): void;
  open(): void;
  close(): void;
  is_open(): boolean;
  open_receiver(options: unknown): RheaLink;
}

/** A receiver on a session of its own. */
export interface OwnedReceiver {
  readonly link: RheaLink;
  /**
   * Ends the receiver's session. RabbitMQ 3.x keeps a detached link's
   * unsettled deliveries on the session until it ends, so ending it is what
   * returns them to the queue at once.
   */
  close(): Promise<void>;
}

/** A rhea connection, as far as Courier uses it. */
export interface RheaConnection {
  on(event: string, listener: (context: RheaContext) => void): void;
  open_sender(options: unknown): RheaLink;
  open_receiver(options: unknown): RheaLink;
  create_session(): RheaSession;
  close(): void;
  is_open(): boolean;
  set_reconnect(reconnect: boolean): void;
  properties?: Record<string, unknown>;
  socket?: { destroy(): void };
  remote?: { open?: { properties?: Record<string, unknown>; max_frame_size?: number } };
}

/** A readable line for an error or an AMQP error condition. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const e = error as { condition?: unknown; description?: unknown };
    return [e.condition, e.description].filter((x) => typeof x === 'string').join(': ') || String(error);
  }
  return String(error);
}

/** The broker's error condition as a Courier error. */
export function linkError(error: unknown, what: string): CourierError {
  const condition = (error as { condition?: unknown } | undefined)?.condition;
  const code =
    condition === 'amqp:unauthorized-access'
      ? 'UNAUTHORIZED'
      : condition === 'amqp:not-found'
        ? 'NOT_FOUND'
        : condition === 'amqp:not-implemented' || condition === 'amqp:not-allowed'
          ? 'UNSUPPORTED'
          : 'CONNECTION_CLOSED';
  return new CourierError(code, `${what}: the broker said ${describe(error)}`, { cause: error });
}
