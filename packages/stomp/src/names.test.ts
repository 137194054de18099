import { subjectMatcher } from '@courier/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consumerQueue, decodeSubject, encodeSubject, encodeToken } from './names.js';

const token = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter((t) => !t.includes('.') && t !== '*' && t !== '>');

describe('destination names', () => {
  it('encodes any token to characters ActiveMQ gives no meaning to, reversibly', () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 5 }), (tokens) => {
        const subject = tokens.join('.');
        const encoded = encodeSubject(subject);
        expect(encoded).toMatch(/^[A-Za-z0-9_%.-]+$/);
        expect(encoded.split('.')).toHaveLength(tokens.length);
        expect(decodeSubject(encoded)).toBe(subject);
      }),
    );
  });

  it('keeps wildcards as ActiveMQ wildcards', () => {
    expect(encodeSubject('orders.*.eu.>')).toBe('orders.*.eu.>');
    expect(encodeSubject('a,b.c/d')).toBe('a%2Cb.c%2Fd');
  });

  it('gives each (group, pattern) pair its own queue, with the group as one token', () => {
    const a = consumerQueue('billing.eu', 'orders.created');
    const b = consumerQueue('billing.eu', 'orders.*');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).toMatch(/^billing%2Eeu~[0-9a-f]{10}$/);
    expect(encodeToken('é')).toBe('%C3%A9');
    expect(subjectMatcher('orders.*')('orders.created')).toBe(true);
  });
});
