import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { DedupWindow } from './dedup-window.js';
import type { StoredRecord } from './segment-reads.js';
import { StreamLog } from './stream-log.js';
import { TailCache } from './tail-cache.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const record = (sequence: number, bytes = 10): StoredRecord => ({
  sequence,
  time: 1,
  id: `m${sequence}`,
  payload: Buffer.alloc(bytes, sequence % 256),
});

describe('tail cache', () => {
  it('answers ranges it holds within the limits, and nothing it does not hold', () => {
    const cache = new TailCache({ maxRecords: 4, maxBytes: 1000 });
    for (let s = 1; s <= 6; s++) cache.add(record(s));
    expect(cache.first).toBe(3);
    expect(cache.range(2, 10, 1000)).toBeUndefined(); // older than held: read the log
    expect(cache.range(7, 10, 1000)).toBeUndefined(); // past the newest
    expect(cache.range(4, 10, 1000)?.map((r) => r.sequence)).toEqual([4, 5, 6]);
    expect(cache.range(3, 2, 1000)?.map((r) => r.sequence)).toEqual([3, 4]);
    expect(cache.range(3, 10, 15)?.map((r) => r.sequence)).toEqual([3]); // at least one, then the byte limit
    cache.dropBelow(5);
    expect(cache.get(4)).toBeUndefined();
    expect(cache.get(5)?.sequence).toBe(5);
  });

  it('starts again when a sequence does not follow on', () => {
    const cache = new TailCache();
    cache.add(record(1));
    cache.add(record(5));
    expect(cache.first).toBe(5);
    expect(cache.size).toBe(1);
  });

  it('a stream log reads the same records from its tail cache as from disk after a restart', async () => {
    const t = await tempDir();
    cleanups.push(t.remove);
    const log = await StreamLog.open({ dir: t.dir });
    for (let n = 0; n < 50; n++) await log.append({ payload: Buffer.from(`payload ${n}`), id: `id-${n}` });
    const fromCache = await log.readRange({ from: 10, maxRecords: 20 });
    const one = await log.read(33);
    await log.close();
    const reopened = await StreamLog.open({ dir: t.dir });
    cleanups.push(() => reopened.close());
    expect(await reopened.readRange({ from: 10, maxRecords: 20 })).toEqual(fromCache);
    expect(await reopened.read(33)).toEqual(one);
  });
});

describe('dedup window', () => {
  it('remembers each id for the window, the latest store of an id winning, whatever the order of adds and expiries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.nat(50)), { maxLength: 3000 }),
        (steps) => {
          const window = new DedupWindow(100);
          const model = new Map<string, { sequence: number; time: number }>();
          let time = 0;
          steps.forEach(([id, advance], sequence) => {
            time += advance;
            expect(window.lookup(id, time)).toBe(
              (model.get(id)?.time ?? Number.NEGATIVE_INFINITY) >= time - 100
                ? model.get(id)?.sequence
                : undefined,
            );
            window.add(id, sequence, time);
            model.set(id, { sequence, time });
          });
        },
      ),
    );
  });

  it('keeps thousands of ids stored in one instant, then forgets them all once the window passes', () => {
    const window = new DedupWindow(100);
    for (let n = 0; n < 5000; n++) window.add(`id-${n}`, n, 1000);
    expect(window.size).toBe(5000);
    expect(window.lookup('id-0', 1100)).toBe(0);
    expect(window.lookup('id-4999', 1100)).toBe(4999);
    expect(window.lookup('id-0', 1101)).toBeUndefined();
    expect(window.size).toBe(0);
  });
});
