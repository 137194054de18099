/**
 * A connection's publishes on their way to the broker: gathered per turn
 * into PUBLISH frames of about 1 MiB (less when the broker's maxFrame is small), numbered per link, settled by CONFIRM
 * ranges or PUBLISH_FAILED. They leave only as fast as the link drains (they
 * wait here, not in the socket's buffer). On a new link, everything unconfirmed is sent
 * again in order with its message id, so the broker's dedup keeps it once.
 */
import type { CourierError, RawMessage } from '@courier/core';
import { type Frame, FrameType } from '../protocol/frame-types.js';

const FRAME_BYTES = 1024 * 1024;

interface Pending {
  message: RawMessage;
  /** Its encoded size, to cut frames by. */
  size: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** See the module comment. */
export class PublishPipeline {
  readonly #send: (frame: Frame) => void;
  readonly #pending = new Map<number, Pending>();
  #outbox: number[] = [];
  #next = 1;
  /** Publish numbers on the current link (they restart at 1 on each), to ours. */
  #onLink = new Map<number, number>();
  #linkNext = 1;
  #frameBytes = FRAME_BYTES;

  constructor(send: (frame: Frame) => void) {
    this.#send = send;
  }

  /** Queues a publish of `size` encoded bytes; resolves on its CONFIRM. Call `flush` to send. */
  add(message: RawMessage, size: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const seq = this.#next++;
      this.#pending.set(seq, { message, size, resolve, reject });
      this.#outbox.push(seq);
    });
  }

  /**
   * Sends what is queued, in frames of about 1 MiB, while `room()` says the
   * link takes more; the rest waits here for the next flush (on the link's drain).
   */
  flush(room: () => boolean = () => true): void {
    while (this.#outbox.length > 0 && room()) {
      const messages: RawMessage[] = [];
      const first = this.#linkNext;
      let bytes = 0;
      while (
        this.#outbox.length > 0 &&
        messages.length < 0xffff &&
        (messages.length === 0 ||
          bytes + (this.#pending.get(this.#outbox[0] as number)?.size ?? 0) <= this.#frameBytes)
      ) {
        const seq = this.#outbox.shift() as number;
        const pending = this.#pending.get(seq);
        if (!pending) continue;
        this.#onLink.set(this.#linkNext++, seq);
        messages.push(pending.message);
        bytes += pending.size;
      }
      if (messages.length > 0) this.#send({ type: FrameType.PUBLISH, firstSeq: first, messages });
    }
  }

  /** A new link: number afresh and queue everything unconfirmed again, in frames that fit its `maxFrame`. */
  relink(maxFrame: number): void {
    // Room for the frame's own fields: length, type, first sequence, count.
    this.#frameBytes = Math.min(FRAME_BYTES, maxFrame - 11);
    this.#onLink = new Map();
    this.#linkNext = 1;
    this.#outbox = [...this.#pending.keys()].sort((a, b) => a - b);
  }

  /** Settles a CONFIRM range, or one PUBLISH_FAILED with its error. */
  settle(linkSeq: number, count: number, error?: CourierError): void {
    for (let i = 0; i < count; i++) {
      const seq = this.#onLink.get(linkSeq + i);
      if (seq === undefined) continue;
      this.#onLink.delete(linkSeq + i);
      const pending = this.#pending.get(seq);
      if (!pending) continue;
      this.#pending.delete(seq);
      if (error) pending.reject(error);
      else pending.resolve();
    }
  }

  /** Fails every publish not yet confirmed (the transport is closing for good). */
  rejectAll(error: CourierError): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#outbox = [];
  }
}
