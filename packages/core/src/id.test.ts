import { UUID } from 'uuidv7';
import { describe, expect, it } from 'vitest';
import { newId } from './id.js';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  it('makes RFC 9562 version 7 ids carrying the creation time', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(FORMAT);
    const parsed = UUID.parse(id);
    expect(parsed.getVariant()).toBe('VAR_10');
    expect(parsed.getVersion()).toBe(7);
    const time = Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after + 1);
  });

  it('is strictly increasing and unique across many ids of the same milliseconds', () => {
    const ids = Array.from({ length: 200_000 }, () => newId());
    for (let i = 1; i < ids.length; i++) {
      if (!((ids[i] as string) > (ids[i - 1] as string)))
        throw new Error(`id ${i} ${ids[i]} is not after ${ids[i - 1]}`);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 1000)) expect(id).toMatch(FORMAT);
  });

  it('differs in its random bits between ids', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => newId().slice(-8)));
    expect(tails.size).toBeGreaterThan(990);
  });
});
