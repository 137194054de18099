import { describe, expect, it } from 'vitest';
import { bindingKey, boundedName, delayBucket, groupQueue, MAX_NAME_BYTES } from './topology.js';

describe('bindingKey', () => {
  it('keeps subjects and * as they are', () => {
    expect(bindingKey('orders.created')).toBe('orders.created');
    expect(bindingKey('orders.*.eu')).toBe('orders.*.eu');
  });

  it("turns > into *.# so that it needs at least one token, as '>' does", () => {
    expect(bindingKey('orders.>')).toBe('orders.*.#');
    expect(bindingKey('>')).toBe('*.#');
  });

  it('refuses a literal # token, which RabbitMQ would read as a wildcard', () => {
    expect(() => bindingKey('a.#.b')).toThrow(expect.objectContaining({ code: 'INVALID_SUBJECT' }));
  });

  it('refuses subjects longer than a routing key can be', () => {
    expect(() => bindingKey(`a.${'x'.repeat(300)}`)).toThrow(
      expect.objectContaining({ code: 'INVALID_SUBJECT' }),
    );
  });
});

describe('delayBucket', () => {
  it('rounds up to two significant digits: never earlier, at most 10% later', () => {
    expect(delayBucket(1)).toBe(1);
    expect(delayBucket(50)).toBe(50);
    expect(delayBucket(99.2)).toBe(100);
    expect(delayBucket(100)).toBe(100);
    expect(delayBucket(101)).toBe(110);
    expect(delayBucket(299)).toBe(300);
    expect(delayBucket(1234)).toBe(1300);
    expect(delayBucket(300_000)).toBe(300_000);
    for (let ms = 1; ms < 200_000; ms += 97) {
      const bucket = delayBucket(ms);
      expect(bucket).toBeGreaterThanOrEqual(ms);
      expect(bucket).toBeLessThanOrEqual(Math.max(ms * 1.1, ms + 1));
    }
  });
});

describe('queue names', () => {
  it('never confuses (group, subject) pairs that concatenate alike', () => {
    expect(groupQueue('ns', 'a:b', 'c')).not.toBe(groupQueue('ns', 'a', 'b:c'));
    expect(groupQueue('ns', 'a.b', 'c')).not.toBe(groupQueue('ns', 'a', 'b.c'));
  });

  it('keeps long names within 255 bytes and distinct', () => {
    const long = 'é'.repeat(200);
    const a = boundedName(`${long}a`);
    const b = boundedName(`${long}b`);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(a).not.toBe(b);
  });
});
