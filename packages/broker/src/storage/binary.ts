/**
 * Little-endian integer helpers for the storage formats. Sequences and times
 * are stored as u64 but held as JS numbers, which is exact up to 2^53; the
 * helpers refuse anything beyond so a corrupt value can never round silently.
 */

const TWO_32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as a u64, little-endian, at `offset`. */
export function writeU64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32LE((value % TWO_32) >>> 0, offset);
  buffer.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/**
 * Reads a u64, little-endian, at `offset`. Returns `-1` when the value does
 * not fit a safe integer, which callers treat as corruption.
 */
export function readU64(buffer: Buffer, offset: number): number {
  const low = buffer.readUInt32LE(offset);
  const high = buffer.readUInt32LE(offset + 4);
  if (high >= 0x20_0000) return -1;
  return high * TWO_32 + low;
}
