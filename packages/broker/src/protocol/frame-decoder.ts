/**
 * Cuts a byte stream into frames. The u32 length prefix is checked against
 * the negotiated maximum as soon as its four bytes arrive, before anything
 * of the frame is buffered, so a hostile length cannot make the broker
 * allocate.
 */
import { CourierError, formatBytes } from '@courier/core';
import { readFrame } from './frame-codec.js';
import type { Frame } from './frame-types.js';

/** A streaming frame decoder for one connection. */
export class FrameDecoder {
  #maxFrame: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1;

  constructor(options: { maxFrame: number }) {
    this.#maxFrame = options.maxFrame;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Changes the limit (after version negotiation). */
  set maxFrame(value: number) {
    this.#maxFrame = value;
  }

  /**
   * Adds bytes and returns every frame they complete, in order.
   * @throws CourierError `PROTOCOL_ERROR` on an oversized or malformed frame; the connection should then close.
   */
  push(chunk: Buffer): Frame[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return frames;
        const length = this.#peekLength();
        if (length > this.#maxFrame) {
          throw new CourierError(
            'PROTOCOL_ERROR',
            `frame of ${formatBytes(length)} exceeds the limit of ${formatBytes(this.#maxFrame)}; send smaller batches`,
          );
        }
        if (length === 0)
          throw new CourierError('PROTOCOL_ERROR', 'empty frame: a frame has at least a type byte');
        this.#need = length;
      }
      if (this.#buffered < 4 + this.#need) return frames;
      const all =
        this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#buffered);
      const end = 4 + this.#need;
      frames.push(readFrame(all, 4, end));
      const rest = all.subarray(end);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#need = -1;
    }
  }

  #peekLength(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.#chunks, this.#buffered).readUInt32BE(0);
  }
}
