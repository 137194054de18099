/**
 * Reads the wire protocol's primitives from one frame, checking every length
 * against what is left, so that a malformed or hostile frame ends in a
 * `PROTOCOL_ERROR`, never a crash or a read past the frame.
 */
import { CourierError } from '@courier/core';

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

  /** u32-length bytes, copied out so the frame's buffer can be reused. */
  bytes(field: string): Uint8Array {
    const length = this.u32(`${field} length`);
    const at = this.#take(length, field);
    const out = new Uint8Array(length);
    out.set(this.#buffer.subarray(at, at + length));
    return out;
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
