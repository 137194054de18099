/**
 * Calls waiting for the broker's answer, by id: requests and dead-letter
 * operations. Each is answered once (by its reply, an ERROR for its id, a
 * timeout, or the link dropping) and forgotten.
 */
import { CourierError } from '@courier/core';

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
}

/** See the module comment. */
export class PendingCalls<T> {
  readonly #calls = new Map<number, Waiting<T>>();

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
      const timer =
        options.timeout === undefined
          ? undefined
          : setTimeout(
              () =>
                this.reject(
                  id,
                  options.onTimeout?.() ?? new CourierError('TIMEOUT', `${options.what} timed out`),
                ),
              options.timeout,
            );
      this.#calls.set(id, { resolve, reject, timer });
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
    this.#calls.delete(id);
    clearTimeout(call.timer);
    return call;
  }
}
