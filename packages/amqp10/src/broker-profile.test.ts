import { describe, expect, it } from 'vitest';
import { bindingKey, detectKind, queuesProfile, rabbitmqProfile } from './broker-profile.js';

const options = { prefix: 'courier', exchange: 'courier.amqp10', maxPayload: 1024 };

describe('broker profiles', () => {
  it('turns patterns into topic binding keys: > is one or more words', () => {
    expect(bindingKey('orders.created')).toBe('orders.created');
    expect(bindingKey('orders.*')).toBe('orders.*');
    expect(bindingKey('orders.>')).toBe('orders.*.#');
    expect(bindingKey('*.x.>')).toBe('*.x.*.#');
  });

  it('detects RabbitMQ from its product and treats other brokers as plain queues', () => {
    expect(detectKind({ product: 'RabbitMQ', version: '3.10.8' })).toBe('rabbitmq');
    expect(detectKind({})).toBe('queues');
  });

  it('names RabbitMQ queues per (group, pattern), bounded in length', () => {
    const p = rabbitmqProfile(options);
    expect(p.groupQueue('billing', 'orders.*', true)).toBe('courier.g.billing.orders.*');
    expect(p.groupQueue('_private.s.1', 'a', false)).toBe('courier.p._private.s.1');
    expect(Buffer.byteLength(p.groupQueue('g'.repeat(300), 'p'.repeat(300), true))).toBeLessThanOrEqual(200);
    expect(p.groupQueue('g'.repeat(300), 'a', true)).not.toBe(p.groupQueue('g'.repeat(300), 'b', true));
    expect(() => p.assertPattern('a.#b')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });

  it('refuses patterns on plain queues, which cannot route them', () => {
    const p = queuesProfile(options);
    expect(p.groupQueue('any', 'orders.created', true)).toBe('orders.created');
    expect(() => p.assertPattern('orders.*')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(() => p.assertPattern('orders.created')).not.toThrow();
  });
});
