import type { RawMessage } from '@courier/core';
import { MsgHdrsImpl } from '@nats-io/nats-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, EnvelopeHeader, encodeEnvelope } from './envelope.js';

/** Encodes to wire bytes and parses them back, as another process would. */
function overTheWire(message: RawMessage): RawMessage {
  const wire = (encodeEnvelope(message) as MsgHdrsImpl).encode();
  const headers = MsgHdrsImpl.decode(wire.subarray(0, wire.byteLength - 2));
  return decodeEnvelope(headers, message.payload, { subject: message.subject, fallbackId: 'x', storedAt: 0 });
}

const base: RawMessage = {
  id: '0190d8f2-7c4a-7000-8000-000000000001',
  subject: 'orders.created',
  payload: new Uint8Array([1, 2, 3]),
  contentType: 'application/json',
  headers: {},
  time: 1_700_000_000_123,
  source: 'orders/1',
};

describe('the envelope in NATS headers', () => {
  it('carries every attribute, and plain headers under their own names', () => {
    const message = {
      ...base,
      key: 'k-1',
      deliverAt: 1_700_000_001_000,
      headers: { traceparent: '00-abc-def-01' },
    };
    const headers = encodeEnvelope(message);
    expect(headers.get(EnvelopeHeader.id)).toBe(message.id);
    expect(headers.get('traceparent')).toBe('00-abc-def-01');
    expect(overTheWire(message)).toEqual(message);
  });

  it('round-trips any id, source, key, content type and headers, however odd', () => {
    const text = fc.string({ unit: 'binary', maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record({
          id: text.filter((s) => s !== ''),
          source: text,
          contentType: text,
          key: fc.option(text, { nil: undefined }),
          headers: fc.dictionary(text, text, { maxKeys: 5 }),
        }),
        (fields) => {
          const { key, ...rest } = fields;
          const message: RawMessage = { ...base, ...rest, headers: { ...fields.headers } };
          if (key !== undefined) message.key = key;
          expect(overTheWire(message)).toEqual(message);
        },
      ),
    );
  });

  it('carries text that is not well-formed UTF-16 without throwing', () => {
    const message = { ...base, source: ' \uD800 ', headers: { '\uDC00 x': 'a\nb' } };
    expect(overTheWire(message)).toMatchObject({ source: ' \uFFFD ', headers: { '\uFFFD x': 'a\nb' } });
  });

  it('reads a message from a plain NATS publisher with defaults', () => {
    const headers = new MsgHdrsImpl();
    headers.set('Content-Type', 'text/plain');
    headers.set('Nats-Msg-Id', 'abc');
    const message = decodeEnvelope(headers, new Uint8Array([104, 105]), {
      subject: 'a.b',
      fallbackId: 'S:7',
      storedAt: 42,
    });
    expect(message).toMatchObject({
      id: 'abc',
      subject: 'a.b',
      contentType: 'text/plain',
      time: 42,
      source: 'nats',
    });
    expect(
      decodeEnvelope(undefined, new Uint8Array(), { subject: 'a', fallbackId: 'S:8', storedAt: 1 }),
    ).toMatchObject({
      id: 'S:8',
      contentType: 'application/octet-stream',
      headers: {},
    });
  });
});
