/**
 * Helpers for tests that wait on events, never on time: collectors that
 * resolve when enough has arrived, deferred promises, and a scope that
 * closes every bus a test opened.
 */
import { randomUUID } from 'node:crypto';
import { type Bus, type BusOptions, connect, type Transport } from '@courier/core';

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise to settle from outside. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Items arriving from handlers. `until` waits for a condition on them and
 * fails after `within` ms with what had arrived, so a broken engine fails
 * the test with a reason instead of hanging it.
 */
export class Collector<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Waits until `count` items have arrived. */
  count(count: number, within: number): Promise<T[]> {
    return this.until((items) => items.length >= count, within, `${count} items`);
  }

  /** Waits until `done(items)` holds. */
  until(done: (items: readonly T[]) => boolean, within: number, what = 'the condition'): Promise<T[]> {
    if (done(this.items)) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done(this.items)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.items);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(`waited ${within} ms for ${what}; got ${this.items.length}: ${preview(this.items)}`),
        );
      }, within);
      this.#waiters.add(check);
    });
  }
}

function preview(items: readonly unknown[]): string {
  const text = JSON.stringify(items.slice(0, 10), (_k, v: unknown) =>
    v instanceof Uint8Array ? `<${v.length} bytes>` : v,
  );
  return items.length > 10 ? `${text} ...` : text;
}

/** Rejects after `ms` with `what`, unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A name unique to this run, safe as a subject token and a group name. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Opens buses and transports for one test and closes them all at the end. */
export class Scope {
  readonly #factory: () => Transport | Promise<Transport>;
  readonly #open: Array<{ close(options?: { timeout?: number }): Promise<void> }> = [];

  constructor(factory: () => Transport | Promise<Transport>) {
    this.#factory = factory;
  }

  /** A new connection to the engine under test. */
  async transport(): Promise<Transport> {
    const transport = await this.#factory();
    this.#open.push(transport);
    return transport;
  }

  /** A bus on a new connection. */
  async bus(options: BusOptions = {}): Promise<Bus> {
    const bus = await connect(await this.transport(), { service: 'suite', ...options });
    this.#open.push(bus);
    return bus;
  }

  /**
   * Closes everything opened, newest first; errors from already-dead
   * connections are ignored, and handlers a case left hanging get a second.
   */
  async close(): Promise<void> {
    for (const item of this.#open.splice(0).reverse()) {
      await item.close({ timeout: 1000 }).catch(() => undefined);
    }
  }
}

/**
 * Polls `check` until it returns a value other than `undefined`, failing after
 * `ms` with `what` and the last error `check` threw. For state that has no
 * event to wait on (a count read over HTTP, a list in another process).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`waited ${ms} ms for ${what}${last ? `; last error: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
