/**
 * Frames out to a stream (a TCP or TLS socket, or a WebSocket as a Duplex),
 * corked: every frame written in one event-loop turn leaves in a single
 * `write`. It counts the bytes waiting (queued this turn plus what the
 * stream has not sent yet) and reports congestion above a byte limit, so the
 * caller stops producing until `onDrain` (backpressure in bytes, not in
 * frames).
 */
import type { Writable } from 'node:stream';
import { writeFrame } from './frame-codec.js';
import type { Frame } from './frame-types.js';
import { WireWriter } from './wire-writer.js';

/** Options of a {@link FrameOutput}. */
export interface FrameOutputOptions {
  /** Bytes waiting above which the output is congested. Default 2 MiB. */
  limit?: number;
  /** Called when the stream has room again: after its `drain`, or after a write it took without complaint. */
  onDrain?: () => void;
}

/** A stream's outgoing frames. */
export class FrameOutput {
  readonly #stream: Writable;
  readonly #writer = new WireWriter(16 * 1024);
  readonly #limit: number;
  readonly #onDrain: (() => void) | undefined;
  #scheduled = false;

  constructor(stream: Writable, options: FrameOutputOptions = {}) {
    this.#stream = stream;
    this.#limit = options.limit ?? 2 * 1024 * 1024;
    this.#onDrain = options.onDrain;
    if (this.#onDrain) stream.on('drain', this.#onDrain);
  }

  /** Bytes queued this turn plus those the stream holds unsent. */
  get pendingBytes(): number {
    return this.#writer.length + this.#stream.writableLength;
  }

  /** True while more than the limit waits to be sent. */
  get congested(): boolean {
    return this.pendingBytes >= this.#limit;
  }

  /** Queues a frame; it is written at the end of this turn with the others. */
  send(frame: Frame): void {
    if (this.#stream.destroyed) return;
    writeFrame(this.#writer, frame);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Queues frames that `encode` writes itself (each between `beginFrame` and `endFrame`), for encodings no `Frame` object describes. */
  sendWith(encode: (writer: WireWriter) => void): void {
    if (this.#stream.destroyed) return;
    encode(this.#writer);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is queued now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#writer.length === 0 || this.#stream.destroyed) return;
    const took = this.#stream.write(this.#writer.take());
    // A write below the stream's high-water mark brings no 'drain'; room is there now.
    if ((took || !this.congested) && this.#onDrain) this.#onDrain();
  }
}
