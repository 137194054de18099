/**
 * Subjects: dot-separated tokens such as `orders.created`. In patterns `*`
 * matches exactly one token and `>` matches one or more trailing tokens.
 * Subjects that messages are published to never contain wildcards.
 */
import { CourierError } from './errors.js';

/** The longest subject accepted, in characters. */
export const MAX_SUBJECT_LENGTH = 1024;

// Whitespace and control characters: they break every engine's framing of subjects.
const FORBIDDEN = /[\s\p{Cc}]/u;

function invalid(subject: string, why: string): CourierError {
  return new CourierError('INVALID_SUBJECT', `invalid subject ${JSON.stringify(subject)}: ${why}`, {
    data: { subject },
  });
}

/**
 * Checks a subject (`wildcards: false`, for publishing) or a pattern
 * (`wildcards: true`, for subscribing).
 * @throws CourierError `INVALID_SUBJECT` naming the problem.
 */
export function assertSubject(subject: unknown, options: { wildcards: boolean }): asserts subject is string {
  if (typeof subject !== 'string') {
    throw new CourierError('INVALID_SUBJECT', `a subject must be a string, got ${typeof subject}`);
  }
  if (subject === '') throw invalid(subject, 'it is empty; use dot-separated tokens like orders.created');
  if (subject.length > MAX_SUBJECT_LENGTH) {
    throw invalid(
      subject.slice(0, 40),
      `it is ${subject.length} characters long; the limit is ${MAX_SUBJECT_LENGTH}`,
    );
  }
  const bad = FORBIDDEN.exec(subject);
  if (bad) {
    throw invalid(subject, `it contains whitespace or a control character (code ${bad[0].codePointAt(0)})`);
  }
  const tokens = subject.split('.');
  tokens.forEach((token, i) => {
    if (token === '') {
      throw invalid(
        subject,
        `token ${i + 1} is empty; subjects must not start or end with '.' nor contain '..'`,
      );
    }
    const isWildcard = token === '*' || token === '>';
    if (!isWildcard && (token.includes('*') || token.includes('>'))) {
      throw invalid(
        subject,
        `token ${JSON.stringify(token)} mixes a wildcard with other characters; '*' and '>' must stand alone`,
      );
    }
    if (isWildcard && !options.wildcards) {
      throw invalid(subject, `wildcards ('*', '>') are only allowed when subscribing, not when publishing`);
    }
    if (token === '>' && i !== tokens.length - 1) {
      throw invalid(subject, `'>' matches the rest of a subject and must be its last token`);
    }
  });
}

/** True when `subject` has wildcards (`*` or `>` tokens). */
export function hasWildcards(subject: string): boolean {
  return subject.split('.').some((t) => t === '*' || t === '>');
}

/**
 * Compiles a pattern into a matcher. Patterns without wildcards compare by
 * equality; others by tokens.
 */
export function subjectMatcher(pattern: string): (subject: string) => boolean {
  if (!hasWildcards(pattern)) return (subject) => subject === pattern;
  const want = pattern.split('.');
  const tail = want[want.length - 1] === '>';
  const fixed = tail ? want.length - 1 : want.length;
  return (subject) => {
    const got = subject.split('.');
    if (tail ? got.length <= fixed : got.length !== fixed) return false;
    for (let i = 0; i < fixed; i++) {
      const w = want[i];
      if (w !== '*' && w !== got[i]) return false;
    }
    return true;
  };
}

/** True when `subject` matches `pattern`. */
export function matchSubject(pattern: string, subject: string): boolean {
  return subjectMatcher(pattern)(subject);
}

/**
 * True when every subject `inner` matches is also matched by `outer` (both
 * patterns): `orders.>` covers `orders.*.eu`, `orders.*` does not cover `orders.>`.
 * Token grants and stream routing both ask this.
 */
export function patternCovers(outer: string, inner: string): boolean {
  const g = outer.split('.');
  const p = inner.split('.');
  for (let i = 0; i < g.length; i++) {
    const token = g[i];
    if (token === '>') return p.length > i;
    const want = p[i];
    if (want === undefined || want === '>') return false;
    if (token !== '*' && (want === '*' || want !== token)) return false;
  }
  return g.length === p.length;
}
