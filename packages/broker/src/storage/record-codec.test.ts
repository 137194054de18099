import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checksumMatches,
  decodeHeader,
  encodeRecord,
  isProblem,
  RECORD_HEADER_BYTES,
  recordSize,
} from './record-codec.js';

const record = fc.record({
  sequence: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  time: fc.integer({ min: 0, max: 2 ** 48 }),
  id: fc.uint8Array({ maxLength: 40 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

describe('record codec', () => {
  it('round-trips any record (fast-check)', () => {
    fc.assert(
      fc.property(record, (r) => {
        const buffer = Buffer.alloc(recordSize(r.id.length, r.payload.length));
        expect(encodeRecord(buffer, 0, r)).toBe(buffer.length);
        const header = decodeHeader(buffer, 0, buffer.length);
        expect(header).toEqual({
          size: buffer.length,
          sequence: r.sequence,
          time: r.time,
          idLength: r.id.length,
        });
        expect(checksumMatches(buffer, 0, buffer.length)).toBe(true);
        const body = buffer.subarray(RECORD_HEADER_BYTES);
        expect(Buffer.from(body.subarray(0, r.id.length))).toEqual(Buffer.from(r.id));
        expect(Buffer.from(body.subarray(r.id.length))).toEqual(Buffer.from(r.payload));
      }),
    );
  });

  it('detects any single flipped bit (fast-check)', () => {
    fc.assert(
      fc.property(record, fc.nat(), fc.integer({ min: 0, max: 7 }), (r, at, bit) => {
        const buffer = Buffer.alloc(recordSize(r.id.length, r.payload.length));
        encodeRecord(buffer, 0, r);
        const offset = at % buffer.length;
        buffer[offset] = buffer[offset]! ^ (1 << bit);
        const header = decodeHeader(buffer, 0, buffer.length);
        const valid =
          header !== undefined &&
          !isProblem(header) &&
          header.size === buffer.length &&
          checksumMatches(buffer, 0, header.size);
        expect(valid).toBe(false);
      }),
    );
  });

  it('calls a frame torn when the bytes end before it does', () => {
    const buffer = Buffer.alloc(recordSize(1, 10));
    encodeRecord(buffer, 0, { sequence: 1, time: 2, id: Buffer.from('a'), payload: Buffer.alloc(10) });
    expect(decodeHeader(buffer, 0, 10)).toMatchObject({ kind: 'torn' });
    expect(decodeHeader(buffer, 0, buffer.length - 1)).toMatchObject({ kind: 'torn' });
    expect(decodeHeader(Buffer.alloc(RECORD_HEADER_BYTES), 0, RECORD_HEADER_BYTES)).toMatchObject({
      kind: 'corrupt',
    });
  });
});
