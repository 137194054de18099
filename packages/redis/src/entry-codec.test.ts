import type { RawMessage } from '@courier/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFields, encodeFields, packFrames, unpackFrames } from './entry-codec.js';

const toBuffers = (fields: ReturnType<typeof encodeFields>): Buffer[] =>
  fields.map((f) => (typeof f === 'string' ? Buffer.from(f) : f));

const message = fc.record(
  {
    id: fc.string({ minLength: 1 }),
    subject: fc.string({ minLength: 1 }),
    payload: fc.uint8Array(),
    contentType: fc.string(),
    headers: fc.dictionary(fc.string(), fc.string()),
    time: fc.integer({ min: 0, max: 2 ** 45 }),
    source: fc.string(),
    key: fc.string(),
    deliverAt: fc.integer({ min: 0, max: 2 ** 45 }),
  },
  { requiredKeys: ['id', 'subject', 'payload', 'contentType', 'headers', 'time', 'source'] },
) as fc.Arbitrary<RawMessage>;

describe('entry codec', () => {
  it('round-trips every message through stream fields', () => {
    fc.assert(
      fc.property(message, (m) => {
        const { message: back, priorAttempts } = decodeFields(toBuffers(encodeFields(m)));
        expect(back).toEqual({ ...m, payload: new Uint8Array(m.payload) });
        expect(priorAttempts).toBe(0);
      }),
    );
  });

  it('reads prior attempts from a private stream entry', () => {
    const m: RawMessage = {
      id: 'a',
      subject: 's',
      payload: new Uint8Array([1]),
      contentType: 'x',
      headers: {},
      time: 1,
      source: 'o',
    };
    expect(decodeFields(toBuffers(['a', '3', ...encodeFields(m)])).priorAttempts).toBe(3);
  });

  it('refuses entries another program wrote, with the reason', () => {
    expect(() => decodeFields([Buffer.from('hello'), Buffer.from('world')])).toThrow(
      expect.objectContaining({
        code: 'INVALID_MESSAGE',
        message: expect.stringContaining('field i is missing'),
      }),
    );
    const fields = toBuffers(
      encodeFields({
        id: 'a',
        subject: 's',
        payload: new Uint8Array(),
        contentType: 'x',
        headers: {},
        time: 1,
        source: 'o',
      }),
    );
    const metaAt = fields.findIndex((f) => f.toString() === 'm');
    for (const bad of ['[1]', '{"c":1}', '{"c":"x","o":"o","t":1,"h":{"a":1}}', 'not json']) {
      fields[metaAt + 1] = Buffer.from(bad);
      expect(() => decodeFields(fields), bad).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
    }
  });
});

describe('frames', () => {
  it('round-trip any parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array()), (parts) => {
        expect(unpackFrames(packFrames(parts)).map((p) => Array.from(p))).toEqual(
          parts.map((p) => Array.from(p)),
        );
      }),
    );
  });

  it('refuse truncated input instead of reading past it', () => {
    const packed = packFrames(['abc', 'defg']);
    for (let cut = 0; cut < packed.length; cut++) {
      expect(() => unpackFrames(packed.subarray(0, cut))).toThrow(
        expect.objectContaining({ code: 'INVALID_MESSAGE' }),
      );
    }
  });
});
