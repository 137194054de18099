/**
 * The subject matcher the Lua scripts route with agrees with core's
 * `subjectMatcher` (property-tested on the real server).
 */
import { subjectMatcher } from '@courier/core';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { matchScript } from '../src/scripts.js';

const url = process.env['COURIER_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url);
afterAll(() => redis.disconnect());

const token = fc.constantFrom('a', 'b', 'orders', 'x-1');
const subject = fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join('.'));
const pattern = fc
  .tuple(fc.array(fc.oneof(token, fc.constant('*')), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([tokens, tail]) => tokens.length > 0 || tail)
  .map(([tokens, tail]) => [...tokens, ...(tail ? ['>'] : [])].join('.'));

it('Lua match agrees with subjectMatcher', async () => {
  await fc.assert(
    fc.asyncProperty(pattern, subject, async (p, s) => {
      const lua = Number(await matchScript.run(redis, [p, s])) === 1;
      expect(lua).toBe(subjectMatcher(p)(s));
    }),
    { numRuns: 300 },
  );
});
