/**
 * Writes the wire protocol's primitives into one growing buffer, so that all
 * frames of an event-loop turn leave in a single socket write. Integers are
 * big-endian; `str` is a u16-length UTF-8 string, `text` and `bytes` are
 * u32-length (see docs/protocol.md).
 */

const INITIAL = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** The most a writer starts with after a `take` (a burst's size is not kept for ever). */
const MAX_START = 4 * 1024 * 1024;

/** A growable big-endian byte writer with frame framing. */
export class WireWriter {
  #buffer: Buffer;
  #position = 0;
  #frameStart = -1;
  /** The size to start from after a `take`: what the last batch needed, so a steady load does not regrow by doubling every turn. */
  #nextSize: number;

  constructor(size = INITIAL) {
    this.#buffer = Buffer.allocUnsafe(size);
    this.#nextSize = size;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#position;
  }

  #ensure(bytes: number): void {
    const needed = this.#position + bytes;
    if (needed <= this.#buffer.length) return;
    let size = Math.max(this.#buffer.length * 2, this.#nextSize, 256);
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buffer.copy(grown, 0, 0, this.#position);
    this.#buffer = grown;
  }

  /** Starts a frame: reserves its u32 length and writes its type. */
  beginFrame(type: number): void {
    this.#frameStart = this.#position;
    this.#ensure(5);
    this.#position += 4;
    this.u8(type);
  }

  /** Ends the frame begun last, filling in its length; returns the frame's size on the wire. */
  endFrame(): number {
    const start = this.#frameStart;
    this.#buffer.writeUInt32BE(this.#position - start - 4, start);
    this.#frameStart = -1;
    return this.#position - start;
  }

  u8(value: number): void {
    this.#ensure(1);
    this.#buffer[this.#position++] = value;
  }

  u16(value: number): void {
    this.#ensure(2);
    this.#buffer.writeUInt16BE(value, this.#position);
    this.#position += 2;
  }

  u32(value: number): void {
    this.#ensure(4);
    this.#buffer.writeUInt32BE(value >>> 0, this.#position);
    this.#position += 4;
  }

  /** A float64: milliseconds since the epoch fit exactly. */
  f64(value: number): void {
    this.#ensure(8);
    this.#buffer.writeDoubleBE(value, this.#position);
    this.#position += 8;
  }

  /** A u16-length UTF-8 string (subjects, ids, names). */
  str(value: string): void {
    // Room for the worst case (3 UTF-8 bytes per UTF-16 unit), then one pass that encodes and counts.
    this.#ensure(2 + value.length * 3);
    const bytes = this.#buffer.write(value, this.#position + 2, 'utf8');
    if (bytes > 0xffff) throw new RangeError(`string of ${bytes} bytes does not fit a u16 length`);
    this.#buffer.writeUInt16BE(bytes, this.#position);
    this.#position += 2 + bytes;
  }

  /** A u32-length UTF-8 string (header values, JSON). */
  text(value: string): void {
    this.#ensure(4 + value.length * 3);
    const bytes = this.#buffer.write(value, this.#position + 4, 'utf8');
    this.#buffer.writeUInt32BE(bytes, this.#position);
    this.#position += 4 + bytes;
  }

  /** u32-length bytes. */
  bytes(value: Uint8Array): void {
    this.#ensure(4 + value.byteLength);
    this.#buffer.writeUInt32BE(value.byteLength, this.#position);
    this.#buffer.set(value, this.#position + 4);
    this.#position += 4 + value.byteLength;
  }

  /** Bytes as they are, no length (a structure encoded before, e.g. a stored message). */
  raw(value: Uint8Array): void {
    this.#ensure(value.byteLength);
    this.#buffer.set(value, this.#position);
    this.#position += value.byteLength;
  }

  /** Hands out what was written (a copy-free view) and starts again empty; the next write allocates afresh. */
  take(): Buffer {
    const out = this.#buffer.subarray(0, this.#position);
    this.#nextSize = Math.min(Math.max(this.#position, 256), MAX_START);
    this.#buffer = EMPTY;
    this.#position = 0;
    return out;
  }
}
