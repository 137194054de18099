/**
 * The dead-letter log's removed set stays bounded: entries removed out of
 * order are compacted (survivors copied forward), and removing everything
 * frees the log's segments. Nothing still held is lost on the way, across a
 * reopen.
 */
import type { DeadLetter } from '@courier/core';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { COMPACT_AFTER, DeadLetterLog } from './dead-letter-log.js';

function entry(n: number): DeadLetter {
  return {
    message: {
      id: `m${n}`,
      subject: 'dl.x',
      payload: new Uint8Array([n & 0xff]),
      contentType: 'application/octet-stream',
      headers: {},
      time: n,
      source: 't',
    },
    group: 'g',
    pattern: 'dl.x',
    error: { code: 'HANDLER_ERROR', message: `failed ${n}`, retryable: false },
    attempts: 1,
    time: 1_000_000 + n,
  };
}

describe('DeadLetterLog', () => {
  it('compacts entries removed out of order and frees the log once all are removed', async () => {
    const temp = await tempDir('courier-dead-letters-');
    try {
      let log = await DeadLetterLog.open({ dir: temp.dir, sync: 'none' });
      const total = 3 * COMPACT_AFTER;
      await Promise.all(Array.from({ length: total }, (_, n) => log.add(entry(n))));
      // Remove every odd one: none of these moves the floor.
      const odd = (await log.find('g', undefined)).filter(
        (s) => Number(s.entry.message.id.slice(1)) % 2 === 1,
      );
      for (let i = 0; i < odd.length; i += 100) await log.remove(odd.slice(i, i + 100));
      expect(log.removedAboveFloor()).toBeLessThanOrEqual(COMPACT_AFTER);
      const kept = (await log.list('g')).map((e) => e.message.id);
      expect(kept).toEqual(Array.from({ length: total / 2 }, (_, i) => `m${2 * i}`));
      await log.close();
      log = await DeadLetterLog.open({ dir: temp.dir, sync: 'none' });
      expect((await log.list('g')).map((e) => e.message.id)).toEqual(kept);
      await log.remove(await log.find('g', undefined));
      expect(await log.list('g')).toEqual([]);
      expect(log.removedAboveFloor()).toBe(0);
      expect(log.info().messages).toBe(0);
      await log.close();
    } finally {
      await temp.remove();
    }
  });
});
