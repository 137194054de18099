import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SparseIndex } from './segment-index.js';

describe('SparseIndex', () => {
  it('keeps an entry per interval and seeks the last entry at or before a sequence or before a time', () => {
    const index = new SparseIndex(100);
    // 40-byte records: an entry every third record.
    for (let i = 0; i < 10; i++) index.observe(10 + i, 1000 + i * 5, i * 40);
    expect(index.sequences).toEqual([10, 13, 16, 19]);
    expect(index.seekSequence(15)).toEqual({ sequence: 13, position: 120 });
    expect(index.seekSequence(9)).toBeUndefined();
    expect(index.seekTime(1000 + 6 * 5)).toEqual({ sequence: 13, position: 120 });
    expect(index.seekTime(0)).toEqual({ sequence: 10, position: 0 });
    index.truncate(240);
    expect(index.sequences).toEqual([10, 13]);
  });

  it('round-trips through its file form and rejects damaged or foreign files (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 500 }), { maxLength: 50 }), fc.nat(), (gaps, flip) => {
        const index = new SparseIndex(64);
        let position = 0;
        gaps.forEach((gap, i) => {
          index.observe(1 + i, 1000 + i, position);
          position += gap + 28;
        });
        const summary = {
          base: 1,
          size: position,
          count: gaps.length,
          firstTime: 1000,
          lastTime: 1000 + gaps.length,
        };
        const bytes = index.encode(summary);
        const decoded = SparseIndex.decode(bytes, 64);
        expect(decoded?.summary).toEqual(summary);
        expect(decoded?.index.positions).toEqual(index.positions);
        expect(SparseIndex.decode(bytes, 128)).toBeUndefined();
        const damaged = Buffer.from(bytes);
        damaged[flip % damaged.length] = damaged[flip % damaged.length]! ^ 1;
        expect(SparseIndex.decode(damaged, 64)).toBeUndefined();
      }),
    );
  });
});
