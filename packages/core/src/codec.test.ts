import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Codecs, jsonCodec, mediaType, msgpackCodec, rawCodec, textCodec } from './codec.js';

// JSON has no -0 nor undefined in arrays; generate values JSON can hold.
const jsonValue = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** True when no object in `v` has an own key `__proto__` (see the regression test below). */
function withoutProtoKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(withoutProtoKey);
  if (typeof v !== 'object' || v === null) return true;
  return !Object.hasOwn(v, '__proto__') && Object.values(v).every(withoutProtoKey);
}

describe('codecs', () => {
  it('regression: MessagePack decodes a key named __proto__ as __proto_, as documented (msgpackr guards against prototype pollution)', () => {
    const value = JSON.parse('{"__proto__":false,"a":1}') as unknown;
    const back = msgpackCodec.decode(msgpackCodec.encode(value)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).toEqual({ __proto_: false, a: 1 });
    // JSON keeps it as an own key, and never as the prototype.
    const json = jsonCodec.decode(jsonCodec.encode(value)) as Record<string, unknown>;
    expect(Object.hasOwn(json, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
  });

  it('JSON round-trips every JSON value', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(jsonCodec.decode(jsonCodec.encode(v))).toEqual(v);
      }),
    );
  });

  it('MessagePack round-trips every JSON value and binary inside objects', () => {
    fc.assert(
      fc.property(jsonValue.filter(withoutProtoKey), (v) => {
        expect(msgpackCodec.decode(msgpackCodec.encode(v))).toEqual(v);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const back = msgpackCodec.decode(msgpackCodec.encode({ bytes })) as { bytes: Uint8Array };
        expect(Array.from(back.bytes)).toEqual(Array.from(bytes));
      }),
    );
  });

  it('raw bytes and text round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        expect(Array.from(rawCodec.decode(rawCodec.encode(b)) as Uint8Array)).toEqual(Array.from(b));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(textCodec.decode(textCodec.encode(s))).toBe(s);
      }),
    );
  });

  it('encodes undefined as an empty payload and back', () => {
    expect(jsonCodec.encode(undefined)).toHaveLength(0);
    expect(jsonCodec.decode(new Uint8Array())).toBeUndefined();
    expect(msgpackCodec.decode(msgpackCodec.encode(undefined))).toBeUndefined();
  });

  it('fails with CODEC_ERROR, not a crash, on what it cannot encode or decode', () => {
    expect(() => jsonCodec.encode({ n: 1n })).toThrow(expect.objectContaining({ code: 'CODEC_ERROR' }));
    expect(() => jsonCodec.decode(new TextEncoder().encode('{nope'))).toThrow(
      /cannot decode application\/json/,
    );
    expect(() => textCodec.decode(new Uint8Array([0xff, 0xfe]))).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
    expect(() => rawCodec.encode({ a: 1 })).toThrow(/raw codec takes a Uint8Array/);
    expect(() => msgpackCodec.decode(new Uint8Array([0x92, 0x01]))).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
  });

  it('picks the codec by content type, ignoring case and parameters, and names the fix for unknown ones', () => {
    const codecs = new Codecs();
    expect(codecs.forContentType('Application/JSON; charset=utf-8')).toBe(jsonCodec);
    expect(codecs.forContentType('application/x-msgpack')).toBe(msgpackCodec);
    expect(() => codecs.forContentType('application/avro')).toThrow(/register one with connect/);
    expect(mediaType(' Text/Plain ; charset=utf-8')).toBe('text/plain');
    expect(() => codecs.resolve('yaml' as 'json')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });

  it('takes custom codecs by content type', () => {
    const upper = {
      contentType: 'text/x-upper',
      encode: (d: unknown) => textCodec.encode(String(d).toUpperCase()),
      decode: textCodec.decode,
    };
    expect(new Codecs([upper]).forContentType('text/x-upper')).toBe(upper);
  });
});
