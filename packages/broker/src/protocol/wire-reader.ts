/**
 * Reads the wire protocol's primitives from one frame, checking every length
 * against what is left, so that a malformed or hostile frame ends in a
 * `PROTOCOL_ERROR`, never a crash or a read past the frame.
 */
import { CourierError } from '@courier/core';

/** Bytes of each slab that small copies are carved from. */
const SLAB_BYTES = 16 * 1024;
/** Copies longer than this get an array of their own. */
const SMALL_COPY = 2 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A copy of `length` bytes of `source` from `at`, as a plain Uint8Array (so
 * `slice()` copies, as callers expect of a payload). Small copies are views
 * into a shared 16 KiB slab, as Node's Buffer pool does: a fresh typed array
 * per payload costs several times the copy itself. Like a pooled Buffer, such
 * a view has a `byteOffset` and shares its `buffer` with other payloads.
 */
export function copyOut(source: Buffer, at: number, length: number): Uint8Array {
  if (length > SMALL_COPY) {
    const out = new Uint8Array(length);
    out.set(source.subarray(at, at + length));
    return out;
  }
  if (slabUsed + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, length);
  source.copy(out, 0, at, at + length);
  slabUsed = (slabUsed + length + 7) & ~7;
  return out;
}

/** A bounds-checked big-endian reader over one frame's body. */
export class WireReader {
  readonly #buffer: Buffer;
  readonly #end: number;
  readonly #what: string;
  #position: number;

  constructor(buffer: Buffer, options: { start?: number; end?: number; what: string }) {
    this.#buffer = buffer;
    this.#position = options.start ?? 0;
    this.#end = options.end ?? buffer.length;
    this.#what = options.what;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#end - this.#position;
  }

  #take(bytes: number, field: string): number {
    if (bytes > this.#end - this.#position) {
      throw new CourierError(
        'PROTOCOL_ERROR',
        `${this.#what} frame is truncated: ${field} needs ${bytes} bytes, ${this.#end - this.#position} left`,
      );
    }
    const at = this.#position;
    this.#position += bytes;
    return at;
  }

  u8(field: string): number {
    return this.#buffer[this.#take(1, field)] as number;
  }

  u16(field: string): number {
    return this.#buffer.readUInt16BE(this.#take(2, field));
  }

  u32(field: string): number {
    return this.#buffer.readUInt32BE(this.#take(4, field));
  }

  f64(field: string): number {
    const value = this.#buffer.readDoubleBE(this.#take(8, field));
    if (!Number.isFinite(value))
      throw new CourierError('PROTOCOL_ERROR', `${this.#what} frame: ${field} is not a finite number`);
    return value;
  }

  str(field: string): string {
    const length = this.u16(`${field} length`);
    const at = this.#take(length, field);
    return this.#buffer.toString('utf8', at, at + length);
  }

  text(field: string): string {
    const length = this.u32(`${field} length`);
    const at = this.#take(length, field);
    return this.#buffer.toString('utf8', at, at + length);
  }

  /** u32-length bytes, copied out so the frame's buffer can be reused (see {@link copyOut}). */
  bytes(field: string): Uint8Array {
    const length = this.u32(`${field} length`);
    const at = this.#take(length, field);
    return copyOut(this.#buffer, at, length);
  }

  /** The offset of the next byte to read, in the buffer given to the constructor. */
  get position(): number {
    return this.#position;
  }

  /**
   * u32-length bytes as a view of the frame's buffer, no copy: for bytes that
   * live no longer than the frame's buffer is left alone (the broker stores
   * a publish, then lets go of it).
   */
  view(field: string): Buffer {
    const length = this.u32(`${field} length`);
    const at = this.#take(length, field);
    return this.#buffer.subarray(at, at + length);
  }

  /** The bytes from `start` to the current position, as a view of the frame's buffer. */
  since(start: number): Buffer {
    return this.#buffer.subarray(start, this.#position);
  }

  /** Skips what is left of the frame (a body this build does not read, such as an older version's HELLO). */
  skipRest(): void {
    this.#position = this.#end;
  }

  /** Checks that the frame held nothing more. */
  end(): void {
    if (this.#position !== this.#end) {
      throw new CourierError(
        'PROTOCOL_ERROR',
        `${this.#what} frame has ${this.#end - this.#position} unexpected trailing bytes`,
      );
    }
  }
}
