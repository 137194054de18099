import type { RawMessage } from '@courier/core';
import fc from 'fast-check';
import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import { type AmqpMessage, fromAmqp, markerMessage, toAmqp } from './amqp-message.js';

const raw = fc.record(
  {
    id: fc.string({ minLength: 1 }),
    subject: fc.string({ minLength: 1 }),
    payload: fc.uint8Array({ maxLength: 64 }),
    contentType: fc.string({ minLength: 1 }),
    // rhea decodes AMQP maps into plain objects, where a `__proto__` key cannot survive.
    headers: fc.dictionary(
      fc.string({ minLength: 1 }).filter((k) => k !== '__proto__'),
      fc.string(),
    ),
    time: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    source: fc.string(),
    key: fc.string({ minLength: 1 }),
    deliverAt: fc.integer({ min: 1, max: 4_000_000_000_000 }),
  },
  { requiredKeys: ['id', 'subject', 'payload', 'contentType', 'headers', 'time', 'source'] },
) as fc.Arbitrary<RawMessage>;

/** Through the real AMQP 1.0 encoding and back, as a broker would hand it over. */
function wire(message: AmqpMessage): AmqpMessage {
  return rhea.message.decode(rhea.message.encode(message)) as AmqpMessage;
}

describe('the AMQP 1.0 form of a message', () => {
  it('round-trips every attribute through the wire encoding', () => {
    fc.assert(
      fc.property(raw, fc.nat({ max: 50 }), (message, attempts) => {
        const decoded = fromAmqp(wire(toAmqp(message, { attempts })), 'fallback');
        expect(decoded.message).toEqual({ ...message, payload: new Uint8Array(message.payload) });
        expect(decoded.priorAttempts).toBe(attempts);
        expect(decoded.redelivered).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('carries a dead letter with its error, group, pattern and attempts', () => {
    const message: RawMessage = {
      id: 'm1',
      subject: 'orders.created',
      payload: new Uint8Array([1]),
      contentType: 'application/json',
      headers: {},
      time: 1,
      source: 's',
    };
    const error = { code: 'HANDLER_ERROR', message: 'boom', retryable: false, data: { why: 1 } };
    const decoded = fromAmqp(
      wire(
        toAmqp(message, {
          deadLetter: { group: 'g', pattern: 'orders.*', error, attempts: 3, time: 42 },
        }),
      ),
      'x',
    );
    expect(decoded.deadLetter).toEqual({ group: 'g', pattern: 'orders.*', error, attempts: 3, time: 42 });
  });

  it('reads a foreign message without throwing: amqp-value bodies, no id, odd properties', () => {
    const foreign = fromAmqp(
      wire({ body: { total: 42 }, application_properties: { n: 7, ok: true } }),
      'fallback.subject',
    );
    expect(foreign.message.subject).toBe('fallback.subject');
    expect(foreign.message.id).not.toBe('');
    expect(foreign.message.contentType).toBe('application/json');
    expect(JSON.parse(new TextDecoder().decode(foreign.message.payload))).toEqual({ total: 42 });
    expect(foreign.message.headers).toEqual({ n: '7', ok: 'true' });
    const text = fromAmqp(wire({ body: 'hello', first_acquirer: false }), 's');
    expect(new TextDecoder().decode(text.message.payload)).toBe('hello');
    expect(text.redelivered).toBe(1);
    expect(
      fromAmqp({ message_annotations: { 'x-opt-courier-dl-group': 'g', 'x-opt-courier-dl-error': '{' } }, 's')
        .deadLetter?.error.code,
    ).toBe('INTERNAL');
  });

  it('marks markers', () => {
    expect(fromAmqp(wire(markerMessage('mk-1')), 's').marker).toBe('mk-1');
  });
});
