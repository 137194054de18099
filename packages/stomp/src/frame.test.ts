import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameParser } from './frame.js';

const headerText = fc.string({ unit: 'binary', maxLength: 30 });
const frames = fc.record({
  command: fc.constantFrom('SEND', 'MESSAGE', 'RECEIPT', 'ERROR', 'ACK'),
  headers: fc.dictionary(
    headerText.filter((s) => s !== '' && s !== 'content-length'),
    headerText,
    {
      maxKeys: 6,
    },
  ),
  body: fc.uint8Array({ maxLength: 300 }),
});

describe('STOMP framing', () => {
  it('round-trips any frame, binary bodies and escaped headers included, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(frames, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 64 }),
        (sent, step) => {
          const bytes = Buffer.concat(sent.map((f) => Buffer.concat([encodeFrame(f), Buffer.from('\n')])));
          const parser = new FrameParser({ maxBody: 1024 });
          const got = [];
          for (let i = 0; i < bytes.byteLength; i += step)
            got.push(...parser.push(bytes.subarray(i, i + step)));
          expect(got.map((f) => f.command)).toEqual(sent.map((f) => f.command));
          got.forEach((frame, i) => {
            const want = sent[i] as (typeof sent)[number];
            expect(Array.from(frame.body)).toEqual(Array.from(want.body));
            for (const [name, value] of Object.entries(want.headers)) expect(frame.headers[name]).toBe(value);
          });
        },
      ),
    );
  });

  it('reads frames without content-length up to their NUL, and skips heart-beats', () => {
    const parser = new FrameParser({ maxBody: 100 });
    const frames = parser.push(
      Buffer.from('\n\r\nRECEIPT\nreceipt-id:r1\n\n\u0000\nMESSAGE\na:b\n\nhello\u0000'),
    );
    expect(frames.map((f) => [f.command, f.headers, Buffer.from(f.body).toString()])).toEqual([
      ['RECEIPT', { 'receipt-id': 'r1' }, ''],
      ['MESSAGE', { a: 'b' }, 'hello'],
    ]);
  });

  it('refuses an oversized or malformed frame with PROTOCOL_ERROR instead of buffering it', () => {
    expect(() =>
      new FrameParser({ maxBody: 10 }).push(Buffer.from('MESSAGE\ncontent-length:11\n\n')),
    ).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    expect(() => new FrameParser({ maxBody: 10 }).push(Buffer.from('MESSAGE\n\n01234567890123'))).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_ERROR' }),
    );
    expect(() => new FrameParser({ maxBody: 10 }).push(Buffer.from('bad command\n\n\u0000'))).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_ERROR' }),
    );
    expect(() => new FrameParser({ maxBody: 10 }).push(Buffer.from('MESSAGE\nx:\\q\n\n\u0000'))).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_ERROR' }),
    );
    expect(() =>
      new FrameParser({ maxBody: 10, maxHeaders: 100 }).push(Buffer.from(`MESSAGE\n${'a'.repeat(200)}`)),
    ).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });
});
