import { describe, expect, it } from 'vitest';
import { resolveOptions } from './options.js';

describe('options', () => {
  it('takes Courier options from the query and hands ioredis a clean URL', () => {
    const resolved = resolveOptions(
      new URL('redis://:pw@host:6380/2?prefix=shop&maxPayload=1024&dedupWindow=5s'),
      {},
    );
    expect(resolved.url).toBe('redis://:pw@host:6380/2');
    expect(resolved).toMatchObject({ prefix: 'shop', maxPayload: 1024, dedupWindow: 5000 });
  });

  it('explicit options win over the query; defaults are documented values', () => {
    const resolved = resolveOptions(new URL('redis://host?prefix=a'), { prefix: 'b' });
    expect(resolved).toMatchObject({
      prefix: 'b',
      maxPayload: 16 * 1024 * 1024,
      dedupWindow: 120_000,
      maxLen: 1_000_000,
    });
  });

  it('refuses malformed values with INVALID_OPTION', () => {
    expect(() => resolveOptions(new URL('redis://host?maxPayload=big'), {})).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => resolveOptions(new URL('redis://host'), { prefix: 'a b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});
