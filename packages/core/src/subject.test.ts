import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertSubject, hasWildcards, matchSubject, patternCovers } from './subject.js';

const token = fc.stringMatching(/^[A-Za-z0-9_\-:@$]{1,8}$/);
const subject = fc.array(token, { minLength: 1, maxLength: 6 }).map((t) => t.join('.'));
const patternToken = fc.oneof({ weight: 4, arbitrary: token }, { weight: 1, arbitrary: fc.constant('*') });
const pattern = fc
  .tuple(fc.array(patternToken, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([tokens, tail]) => (tail ? [...tokens, '>'] : tokens).join('.'));

/** The specification, written the slow obvious way. */
function reference(p: string, s: string): boolean {
  const want = p.split('.');
  const got = s.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') return got.length > i;
    if (i >= got.length) return false;
    if (want[i] !== '*' && want[i] !== got[i]) return false;
  }
  return want.length === got.length;
}

/** A subject that `p` matches, its wildcards filled from `fill`. */
function instance(p: string, fill: readonly string[]): string {
  return p
    .split('.')
    .flatMap((t, i) => (t === '*' ? [fill[i] ?? 'x'] : t === '>' ? [fill[i] ?? 'x', 'tail'] : [t]))
    .join('.');
}

describe('subjects', () => {
  it('patternCovers: when outer covers inner, every subject inner matches, outer matches too', () => {
    fc.assert(
      fc.property(pattern, pattern, fc.array(token, { minLength: 6, maxLength: 6 }), (outer, inner, fill) => {
        const s = instance(inner, fill);
        if (patternCovers(outer, inner)) expect(matchSubject(outer, s)).toBe(true);
      }),
    );
    expect(patternCovers('orders.>', 'orders.*.eu')).toBe(true);
    expect(patternCovers('orders.*', 'orders.>')).toBe(false);
    expect(patternCovers('orders.*', 'orders.created')).toBe(true);
    expect(patternCovers('orders.created', 'orders.*')).toBe(false);
  });

  it('accepts every well-formed subject and pattern', () => {
    fc.assert(
      fc.property(subject, pattern, (s, p) => {
        assertSubject(s, { wildcards: false });
        assertSubject(p, { wildcards: true });
      }),
    );
  });

  it('matches exactly as specified: * one token, > one or more trailing tokens', () => {
    fc.assert(
      fc.property(pattern, subject, (p, s) => {
        expect(matchSubject(p, s)).toBe(reference(p, s));
      }),
    );
  });

  it('matches subjects built from the pattern itself', () => {
    const built = pattern.chain((p) =>
      fc
        .tuple(
          ...p
            .split('.')
            .map((t) =>
              t === '*'
                ? token
                : t === '>'
                  ? fc.array(token, { minLength: 1, maxLength: 3 }).map((a) => a.join('.'))
                  : fc.constant(t),
            ),
        )
        .map((parts) => [p, parts.join('.')] as const),
    );
    fc.assert(
      fc.property(built, ([p, s]) => {
        expect(matchSubject(p, s)).toBe(true);
      }),
    );
  });

  it('a subject without wildcards matches only itself', () => {
    fc.assert(
      fc.property(subject, subject, (a, b) => {
        expect(matchSubject(a, b)).toBe(a === b);
      }),
    );
  });

  it.each([
    ['', /empty/],
    ['a..b', /token 2 is empty/],
    ['.a', /token 1 is empty/],
    ['a.', /token 2 is empty/],
    ['a b', /whitespace/],
    ['a\u0000b', /control character/],
    ['a.b*', /mixes a wildcard/],
    ['a.>x', /mixes a wildcard/],
    ['x'.repeat(2000), /characters long/],
  ])('rejects %j with a clear message', (bad, why) => {
    expect(() => assertSubject(bad, { wildcards: true })).toThrow(why);
    expect(() => assertSubject(bad, { wildcards: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_SUBJECT' }),
    );
  });

  it('rejects wildcards when publishing and a > that is not last', () => {
    expect(() => assertSubject('a.*', { wildcards: false })).toThrow(/only allowed when subscribing/);
    expect(() => assertSubject('a.>', { wildcards: false })).toThrow(/only allowed when subscribing/);
    expect(() => assertSubject('a.>.b', { wildcards: true })).toThrow(/must be its last token/);
    expect(() => assertSubject(42, { wildcards: true })).toThrow(/must be a string/);
  });

  it('tells patterns from subjects', () => {
    expect(hasWildcards('a.*.b')).toBe(true);
    expect(hasWildcards('a.>')).toBe(true);
    expect(hasWildcards('a.b')).toBe(false);
  });
});
