import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DeadLetterFields,
  type DeadLetterHeaderNames,
  deadLetterFromHeaders,
  deadLetterHeaders,
  MAX_DEAD_LETTER_ERROR_JSON,
} from './dead-letter-headers.js';

const names: DeadLetterHeaderNames = {
  group: 'x-group',
  pattern: 'x-pattern',
  error: 'x-error',
  attempts: 'x-attempts',
  time: 'x-time',
};
const fallback = { group: 'fallback-group', pattern: 'fallback.subject', time: 7 };

function readerOf(headers: Record<string, string>): (name: string) => string | undefined {
  return (name) => (Object.hasOwn(headers, name) ? headers[name] : undefined);
}

// JSON values as JSON gives them back (no -0, no undefined members).
const json = fc.json().map((text) => JSON.parse(text) as unknown);
const wireError = fc.record(
  { code: fc.string(), message: fc.string({ maxLength: 200 }), retryable: fc.boolean(), data: json },
  { requiredKeys: ['code', 'message', 'retryable'] },
);
const fields: fc.Arbitrary<DeadLetterFields> = fc.record({
  group: fc.string(),
  pattern: fc.string(),
  error: wireError,
  attempts: fc.nat(),
  time: fc.integer({ min: 1, max: 8_640_000_000_000_000 }),
});

describe('dead-letter headers', () => {
  it('round-trip every field', () => {
    fc.assert(
      fc.property(fields, (entry) => {
        fc.pre(JSON.stringify(entry.error).length <= MAX_DEAD_LETTER_ERROR_JSON);
        const headers = deadLetterHeaders(entry, names);
        expect(deadLetterFromHeaders(readerOf(headers), names, fallback)).toEqual(entry);
      }),
      { numRuns: 500 },
    );
  });

  it('cut an error too long for a header to its code, retryability and the start of its message', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.boolean(), (code, retryable) => {
        const error = { code, message: 'x'.repeat(10_000), retryable, data: { big: 'y'.repeat(10_000) } };
        const headers = deadLetterHeaders({ group: 'g', pattern: 'p', error, attempts: 1, time: 1 }, names);
        expect(headers[names.error]?.length).toBeLessThanOrEqual(MAX_DEAD_LETTER_ERROR_JSON);
        const read = deadLetterFromHeaders(readerOf(headers), names, fallback).error;
        expect(read).toEqual({ code, message: `${'x'.repeat(1000)}... (truncated)`, retryable });
      }),
    );
  });

  it('keep an error whose data JSON cannot carry, without the data', () => {
    const error = { code: 'HANDLER_ERROR', message: 'boom', retryable: true, data: { n: 1n } };
    const headers = deadLetterHeaders({ group: 'g', pattern: 'p', error, attempts: 1, time: 1 }, names);
    expect(deadLetterFromHeaders(readerOf(headers), names, fallback).error).toEqual({
      code: 'HANDLER_ERROR',
      message: 'boom',
      retryable: true,
    });
  });

  it('read a dead letter written by something else with the fallbacks, never throwing', () => {
    expect(deadLetterFromHeaders(readerOf({}), names, fallback)).toEqual({
      group: 'fallback-group',
      pattern: 'fallback.subject',
      error: { code: 'INTERNAL', message: 'dead letter without an error', retryable: false },
      attempts: 0,
      time: 7,
    });
    const odd = { [names.error]: '{', [names.attempts]: 'many', [names.time]: '' };
    const read = deadLetterFromHeaders(readerOf(odd), names, { ...fallback, attempts: 1 });
    expect(read.error).toEqual({
      code: 'INTERNAL',
      message: 'dead letter without a readable error: {',
      retryable: false,
    });
    expect(read.attempts).toBe(1);
    expect(read.time).toBe(7);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...Object.values(names)), fc.string()), (headers) => {
        const entry = deadLetterFromHeaders(readerOf(headers), names, fallback);
        expect(Number.isInteger(entry.attempts) && entry.attempts >= 0).toBe(true);
        expect(typeof entry.error.code).toBe('string');
      }),
    );
  });
});
