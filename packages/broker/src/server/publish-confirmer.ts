/**
 * Confirms a connection's publishes in ranges: publishes are numbered by the
 * client; as each resolves (stored) or fails, the confirmer sends CONFIRM
 * for every contiguous run of stored ones and PUBLISH_FAILED for each
 * failure, so one frame answers a whole batch. It counts what is unconfirmed
 * in messages and in bytes, for the connection's backpressure.
 */
import { CourierError, toCourierError } from '@courier/core';
import { type Frame, FrameType } from '../protocol/frame-types.js';

/** See the module comment. */
export class PublishConfirmer {
  readonly #send: (frame: Frame) => void;
  readonly #onIdle: () => void;
  readonly #done = new Set<number>();
  #next = -1;
  #unconfirmed = 0;
  #unconfirmedBytes = 0;
  #scheduled = false;

  constructor(options: { send: (frame: Frame) => void; onIdle: () => void }) {
    this.#send = options.send;
    this.#onIdle = options.onIdle;
  }

  /** Publishes accepted and not yet confirmed or failed. */
  get unconfirmed(): number {
    return this.#unconfirmed;
  }

  /** The wire size of the publishes accepted and not yet confirmed or failed. */
  get unconfirmedBytes(): number {
    return this.#unconfirmedBytes;
  }

  /**
   * Follows one publish of `bytes` wire bytes to its confirmation: returns
   * the function to call once with how it ended (`undefined` when stored).
   * @throws CourierError `PROTOCOL_ERROR` when `seq` does not follow on.
   */
  track(seq: number, bytes: number): (error: unknown) => void {
    if (this.#next < 0) this.#next = seq;
    // Numbers must follow on: a gap or a repeat would hold every later CONFIRM back and grow without bound.
    const expected = (this.#next + this.#unconfirmed + this.#done.size) >>> 0;
    if (seq !== expected) {
      throw new CourierError('PROTOCOL_ERROR', `publish number ${seq} out of order; expected ${expected}`);
    }
    this.#unconfirmed++;
    this.#unconfirmedBytes += bytes;
    return (error) => {
      if (error !== undefined)
        this.#send({ type: FrameType.PUBLISH_FAILED, seq, error: toCourierError(error).toWire() });
      this.#settled(seq, bytes);
    };
  }

  #settled(seq: number, bytes: number): void {
    this.#done.add(seq);
    this.#unconfirmed--;
    this.#unconfirmedBytes -= bytes;
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    // Failed ones were answered already; a CONFIRM range may span them (the client settles each once).
    const first = this.#next;
    while (this.#done.delete(this.#next)) this.#next = (this.#next + 1) >>> 0;
    const count = (this.#next - first) >>> 0;
    if (count > 0) this.#send({ type: FrameType.CONFIRM, firstSeq: first, count });
    this.#onIdle();
  }
}
