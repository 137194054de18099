import type { RawMessage } from '@courier/core';
import type { Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { decodeMessage, deliveryCount, encodeMessage, H } from './message-codec.js';

const sample: RawMessage = {
  id: '01a2',
  subject: 'orders.created',
  payload: new Uint8Array([0, 1, 255]),
  contentType: 'application/octet-stream',
  headers: { traceparent: '00-abc-def-01', CC: 'not a routing key', 'x-death': 'mine', 'courier-x': 'y' },
  time: 1_700_000_000_123,
  source: 'orders',
  key: 'k1',
  deliverAt: 1_700_000_005_000,
};

function received(
  encoded: ReturnType<typeof encodeMessage>,
  fields: Partial<Message['fields']> = {},
  headers: Record<string, unknown> = {},
): Message {
  return {
    content: encoded.content,
    fields: { deliveryTag: 1, redelivered: false, exchange: 'courier', routingKey: 'other', ...fields },
    properties: { ...encoded.options, headers: { ...encoded.options.headers, ...headers } },
  } as unknown as Message;
}

describe('message codec', () => {
  it('round-trips every attribute, escaping header names RabbitMQ or Courier interpret', () => {
    const encoded = encodeMessage(sample);
    expect(encoded.options.headers['CC']).toBeUndefined();
    expect(encoded.options.headers['courier-user-CC']).toBe('not a routing key');
    const decoded = decodeMessage(received(encoded));
    expect({ ...decoded, payload: Array.from(decoded.payload) }).toEqual({ ...sample, payload: [0, 1, 255] });
  });

  it('turns a foreign message with odd headers into a message without throwing', () => {
    const foreign = {
      content: Buffer.from('hi'),
      fields: { deliveryTag: 1, redelivered: false, exchange: 'x', routingKey: 'a.b' },
      properties: { headers: { n: 5, b: Buffer.from('buf'), o: { deep: [1] }, nil: null, 'x-death': [{}] } },
    } as unknown as Message;
    const decoded = decodeMessage(foreign);
    expect(decoded.subject).toBe('a.b');
    expect(decoded.contentType).toBe('application/octet-stream');
    expect(decoded.headers).toEqual({ n: '5', b: 'buf', o: '{"deep":[1]}' });
    expect(decoded.id).toMatch(/^amqp-/);
  });

  it('counts deliveries from the carried count, the quorum queue count and x-death', () => {
    const encoded = encodeMessage(sample);
    expect(deliveryCount(received(encoded), 'ns.retry.')).toBe(1);
    expect(deliveryCount(received(encoded, {}, { 'x-delivery-count': 2 }), 'ns.retry.')).toBe(3);
    expect(deliveryCount(received(encoded, { redelivered: true }), 'ns.retry.')).toBe(2);
    const retried = encodeMessage(sample, { [H.deliveries]: '3' });
    expect(deliveryCount(received(retried), 'ns.retry.')).toBe(4);
    const lost = { 'x-death': [{ queue: 'ns.retry.50', reason: 'expired', count: 2 }] };
    expect(deliveryCount(received(encoded, {}, lost), 'ns.retry.')).toBe(3);
  });
});
