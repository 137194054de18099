/**
 * Calls waiting for the broker's answer, by id: requests and dead-letter
 * operations. Each is answered once (by its reply, an ERROR for its id, a
 * timeout, or the link dropping) and forgotten. Timeouts share one timer,
 * armed for the earliest deadline, rather than one timer per call.
 */
import { CourierError } from '@courier/core';
import { type LongTimeout, longTimeout } from '@courier/core/internal';

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  /** `performance.now()` time after which the call fails; infinite without a timeout. */
  deadline: number;
  onTimeout: (() => CourierError) | undefined;
  what: string;
}

/** See the module comment. */
export class PendingCalls<T> {
  readonly #calls = new Map<number, Waiting<T>>();
  #timer: LongTimeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /**
   * Waits for the answer to call `id`, sent by `send` (false when there is no
   * link: the call fails at once with `CONNECTION_CLOSED`). With `timeout`,
   * the call fails with `onTimeout()` after that many ms.
   */
  wait(
    id: number,
    send: () => boolean,
    options: { timeout?: number; onTimeout?: () => CourierError; what: string },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline =
        options.timeout === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.timeout;
      this.#calls.set(id, { resolve, reject, deadline, onTimeout: options.onTimeout, what: options.what });
      if (deadline < this.#timerAt) this.#arm(deadline);
      if (!send()) {
        this.reject(
          id,
          new CourierError(
            'CONNECTION_CLOSED',
            `not connected to the broker; ${options.what} was not sent, retry it`,
          ),
        );
      }
    });
  }

  /** Answers call `id`; false when it is no longer waiting (a late reply is dropped). */
  resolve(id: number, value: T): boolean {
    const call = this.#take(id);
    call?.resolve(value);
    return call !== undefined;
  }

  /** Fails call `id`; false when it is no longer waiting. */
  reject(id: number, error: unknown): boolean {
    const call = this.#take(id);
    call?.reject(error);
    return call !== undefined;
  }

  /** Fails every waiting call (the link dropped). */
  rejectAll(error: unknown): void {
    for (const id of [...this.#calls.keys()]) this.reject(id, error);
  }

  #take(id: number): Waiting<T> | undefined {
    const call = this.#calls.get(id);
    if (!call) return undefined;
    // The timer stays armed (unreferenced, it keeps no process alive): it finds nothing due, or the next call's.
    this.#calls.delete(id);
    return call;
  }

  #arm(at: number): void {
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = longTimeout(() => this.#expire(), at - performance.now());
  }

  /** Fails the calls past their deadline and re-arms for the next one. */
  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    // Timers round to whole milliseconds: a deadline within one is due.
    const now = performance.now() + 1;
    let next = Number.POSITIVE_INFINITY;
    const expired: [number, Waiting<T>][] = [];
    for (const entry of this.#calls) {
      const deadline = entry[1].deadline;
      if (deadline <= now) expired.push(entry);
      else if (deadline < next) next = deadline;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    expired.sort((a, b) => a[1].deadline - b[1].deadline);
    for (const [id, call] of expired)
      this.reject(id, call.onTimeout?.() ?? new CourierError('TIMEOUT', `${call.what} timed out`));
  }
}
