/**
 * Message ids: UUIDv7 (RFC 9562), so ids sort by creation time and engines
 * can use them as dedup keys and index them cheaply. Inside one process they
 * are strictly increasing: ids of the same millisecond (or of a clock that
 * stepped back) take the last timestamp and a 42-bit counter, seeded at
 * random on each new millisecond, as the RFC's method 1 says; the last 32
 * bits are random. Random bits come from a pool filled by the system's
 * cryptographic generator a few thousand at a time, not one call per id.
 */
import { getRandomValues } from 'node:crypto';

const POOL = 2048;
const pool = new Uint32Array(POOL);
let poolAt = POOL;

function random32(): number {
  if (poolAt === POOL) {
    getRandomValues(pool);
    poolAt = 0;
  }
  return pool[poolAt++] as number;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const COUNTER_HIGH = 0xfff; // 12 bits in rand_a
const COUNTER_LOW = 0x3fffffff; // 30 bits at the top of rand_b

let lastTime = -1;
let counterHigh = 0;
let counterLow = 0;

function hex(byte: number): string {
  return HEX[byte & 0xff] as string;
}

/** A new time-ordered message id (UUIDv7), greater than every id this process made before. */
export function newId(): string {
  const now = Date.now();
  if (now > lastTime) {
    lastTime = now;
    // Seeded below half the range, so a millisecond's run of ids has room to count up.
    counterHigh = random32() & 0x7ff;
    counterLow = random32() & COUNTER_LOW;
  } else if (counterLow < COUNTER_LOW) {
    counterLow++;
  } else if (counterHigh < COUNTER_HIGH) {
    counterLow = 0;
    counterHigh++;
  } else {
    // The counter ran out inside one millisecond: borrow the next one.
    lastTime++;
    counterHigh = random32() & 0x7ff;
    counterLow = random32() & COUNTER_LOW;
  }
  const time = lastTime;
  const timeHigh = Math.floor(time / 0x10000); // the top 32 of its 48 bits
  const tail = random32();
  return (
    hex(timeHigh >>> 24) +
    hex(timeHigh >>> 16) +
    hex(timeHigh >>> 8) +
    hex(timeHigh) +
    '-' +
    hex(time >>> 8) +
    hex(time) +
    '-' +
    hex(0x70 | (counterHigh >>> 8)) +
    hex(counterHigh) +
    '-' +
    hex(0x80 | (counterLow >>> 24)) +
    hex(counterLow >>> 16) +
    '-' +
    hex(counterLow >>> 8) +
    hex(counterLow) +
    hex(tail >>> 24) +
    hex(tail >>> 16) +
    hex(tail >>> 8) +
    hex(tail)
  );
}
