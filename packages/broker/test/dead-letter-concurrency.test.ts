/**
 * Replays and purges of two groups at once, past the dead-letter log's
 * compaction threshold: removals and compactions run one at a time for the
 * whole engine, so no entry is copied forward twice. Each entry not removed
 * is listed exactly once, before and after a reopen, and the counts the
 * admin API reads agree with the lists.
 */
import { join } from 'node:path';
import { connect, type DeadLetter } from '@courier/core';
import { describe, expect, it } from 'vitest';
import { COMPACT_AFTER, DeadLetterLog } from '../src/engine/dead-letter-log.js';
import { BrokerEngine, embeddedTransport } from '../src/index.js';
import { tempDir } from './helpers/temp-dir.js';

const PER_GROUP = COMPACT_AFTER + 400;

function entry(group: 'A' | 'B', n: number): DeadLetter {
  return {
    message: {
      id: `${group}${n}`,
      subject: `dl.${group.toLowerCase()}`,
      payload: new Uint8Array([n & 0xff]),
      contentType: 'application/octet-stream',
      headers: {},
      time: n,
      source: 't',
    },
    group,
    pattern: `dl.${group.toLowerCase()}`,
    error: { code: 'HANDLER_ERROR', message: `failed ${n}`, retryable: false },
    attempts: 1,
    time: 1_000_000 + 2 * n + (group === 'B' ? 1 : 0),
  };
}

const evens = (group: string): string[] =>
  Array.from({ length: PER_GROUP / 2 }, (_, i) => `${group}${2 * i}`);

const chunks = (ids: string[], size: number): string[][] =>
  Array.from({ length: Math.ceil(ids.length / size) }, (_, i) => ids.slice(i * size, (i + 1) * size));

describe('dead letters under concurrent replays and purges', () => {
  it('keeps each entry exactly once when two groups are replayed and purged at once past COMPACT_AFTER', {
    timeout: 60_000,
  }, async () => {
    const temp = await tempDir('courier-dead-concurrent-');
    try {
      // Group B must be durable for replays to reach it: create it, then leave it.
      let engine = await BrokerEngine.open({ dir: temp.dir, sync: 'none' });
      const bus = await connect(embeddedTransport(engine), { service: 'dl' });
      const sub = bus.subscribe('dl.b', () => undefined, { group: 'B' });
      await sub.ready;
      await sub.close();
      await bus.close();
      await engine.close();
      // The groups' dead letters, interleaved, in the broker's own dead-letter log.
      const log = await DeadLetterLog.open({ dir: join(temp.dir, 'dead-letters'), sync: 'none' });
      const adds: Promise<void>[] = [];
      for (let n = 0; n < PER_GROUP; n++) adds.push(log.add(entry('A', n)), log.add(entry('B', n)));
      await Promise.all(adds);
      await log.close();

      engine = await BrokerEngine.open({ dir: temp.dir, sync: 'none' });
      expect(Object.fromEntries(engine.deadLetterCounts())).toEqual({ A: PER_GROUP, B: PER_GROUP });
      // Every odd entry of both groups, in chunks, all at once: A purged, B replayed.
      const odd = (group: string): string[] =>
        Array.from({ length: PER_GROUP / 2 }, (_, i) => `${group}${2 * i + 1}`);
      const purges = chunks(odd('A'), 100).map((ids) => engine.deadLetters.purge('A', ids));
      const replays = chunks(odd('B'), 100).map((ids) => engine.deadLetters.replay('B', ids));
      const purged = (await Promise.all(purges)).reduce((a, b) => a + b, 0);
      const replayed = (await Promise.all(replays)).reduce((a, b) => a + b, 0);
      expect({ purged, replayed }).toEqual({ purged: PER_GROUP / 2, replayed: PER_GROUP / 2 });

      const listed = async (group: string): Promise<string[]> =>
        (await engine.deadLetters.list(group)).map((e) => e.message.id);
      expect(await listed('A')).toEqual(evens('A'));
      expect(await listed('B')).toEqual(evens('B'));
      expect(Object.fromEntries(engine.deadLetterCounts())).toEqual({ A: PER_GROUP / 2, B: PER_GROUP / 2 });
      await engine.close();

      engine = await BrokerEngine.open({ dir: temp.dir, sync: 'none' });
      expect(await listed('A')).toEqual(evens('A'));
      expect(await listed('B')).toEqual(evens('B'));
      expect(Object.fromEntries(engine.deadLetterCounts())).toEqual({ A: PER_GROUP / 2, B: PER_GROUP / 2 });
      expect((await engine.allDeadLetters()).length).toBe(PER_GROUP);
      await engine.close();
    } finally {
      await temp.remove();
    }
  });
});
