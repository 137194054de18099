/**
 * One file operation at a time: commits, syncs, compactions and retention of
 * one log run in the order they were asked for, and a failure of one does not
 * stop the next.
 */

/** A queue of async operations run one after another. */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after everything queued before it; resolves or rejects with its result. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once everything queued so far has finished. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}

/**
 * Waits until a group-committed log has nothing pending: no changes waiting
 * for the end of the turn (`busy()`), and no operation running.
 */
export async function settle(serial: Serial, busy: () => boolean): Promise<void> {
  while (busy()) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await serial.idle();
  }
  await serial.idle();
}
