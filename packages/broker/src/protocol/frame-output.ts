/**
 * Frames out to a socket, corked: every frame written in one event-loop
 * turn leaves in a single `write`. Reports when the socket's buffer is full
 * so the caller can stop producing (backpressure).
 */
import type { Socket } from 'node:net';
import { writeFrame } from './frame-codec.js';
import type { Frame } from './frame-types.js';
import { WireWriter } from './wire-writer.js';

/** A socket's outgoing frames. */
export class FrameOutput {
  readonly #socket: Socket;
  readonly #writer = new WireWriter(16 * 1024);
  #scheduled = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** True while the socket has more buffered than its high-water mark. */
  get congested(): boolean {
    return this.#socket.writableNeedDrain;
  }

  /** Queues a frame; it is written at the end of this turn with the others. */
  send(frame: Frame): void {
    if (this.#socket.destroyed) return;
    writeFrame(this.#writer, frame);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is queued now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#writer.length === 0 || this.#socket.destroyed) return;
    this.#socket.write(this.#writer.take());
  }
}
