/** The subject/topic mapping: reversible, within Kafka's rules, and patterns that match exactly what they should. */
import { matchSubject } from '@courier/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deadLetterTopic,
  patternToSubscription,
  retryTopic,
  subjectToTopic,
  topicToSubject,
} from './topic-names.js';

const token = fc
  .string({ minLength: 1, maxLength: 3, unit: 'grapheme' })
  .filter((t) => !/[\s.*>\p{Cc}]/u.test(t));
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((tokens) => tokens.join('.'));

describe('topic names', () => {
  it('keeps plain subjects as they are', () => {
    expect(subjectToTopic('orders.created')).toBe('orders.created');
    expect(subjectToTopic('a-b.c', 'app.')).toBe('app.a-b.c');
    expect(subjectToTopic('café_1')).toBe('caf_c3_a9_5f1');
  });

  it('maps every subject to a legal topic and back', () => {
    fc.assert(
      fc.property(subject, (s) => {
        const topic = subjectToTopic(s);
        expect(topic).toMatch(/^[A-Za-z0-9._-]+$/);
        expect(topic).not.toContain('__');
        expect(topicToSubject(topic)).toBe(s);
      }),
    );
  });

  it('refuses a subject whose topic would pass 249 characters', () => {
    expect(() => subjectToTopic('x'.repeat(250))).toThrow(
      expect.objectContaining({ code: 'INVALID_SUBJECT' }),
    );
  });

  it('a pattern subscription matches the topics of exactly the subjects the pattern matches', () => {
    fc.assert(
      fc.property(subject, subject, fc.constantFrom('*', '>'), fc.nat(4), (s, other, wildcard, at) => {
        const tokens = s.split('.');
        tokens[Math.min(at, tokens.length - 1)] = wildcard;
        const pattern =
          wildcard === '>'
            ? tokens.slice(0, Math.min(at, tokens.length - 1) + 1).join('.')
            : tokens.join('.');
        const regex = new RegExp(patternToSubscription(pattern));
        for (const candidate of [s, other]) {
          expect(regex.test(subjectToTopic(candidate)), `${pattern} vs ${candidate}`).toBe(
            matchSubject(pattern, candidate),
          );
        }
      }),
    );
  });

  it("never subscribes a pattern to Courier's own topics", () => {
    const regex = new RegExp(patternToSubscription('>'));
    expect(regex.test(retryTopic('g', 'orders.*'))).toBe(false);
    expect(regex.test(deadLetterTopic('g'))).toBe(false);
    expect(regex.test('orders.created')).toBe(true);
  });

  it('names retry and dead-letter topics per group, hashing names too long for Kafka', () => {
    expect(retryTopic('billing', 'orders.*')).toBe('__courier.retry.billing.orders._2a');
    expect(deadLetterTopic('billing')).toBe('__courier.dlq.billing');
    expect(retryTopic('g'.repeat(300), 'a').length).toBeLessThanOrEqual(249);
  });
});
