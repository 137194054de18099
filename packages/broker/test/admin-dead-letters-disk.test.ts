/**
 * The admin API's dead-letter views read what is on disk, not only what the
 * running broker has seen: the all-groups list and the overview's count
 * cover groups that are not open (dead-lettered before a restart), the count
 * comes from memory, and a stored dead letter that does not decode is
 * skipped (reported once in the broker's log) instead of making every list,
 * replay and discard fail.
 */
import { join } from 'node:path';
import type { DeadLetter } from '@courier/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetterLog } from '../src/engine/dead-letter-log.js';
import { type HttpAdmin, startBroker, startHttpAdmin } from '../src/index.js';
import { StreamLog } from '../src/storage/stream-log.js';
import { tempDir } from './helpers/temp-dir.js';

function entry(group: string, id: string, time: number): DeadLetter {
  return {
    message: {
      id,
      subject: `${group}.event`,
      payload: new TextEncoder().encode(`"${id}"`),
      contentType: 'application/json',
      headers: {},
      time,
      source: 'before-restart',
    },
    group,
    pattern: `${group}.event`,
    error: { code: 'HANDLER_ERROR', message: `failed ${id}`, retryable: false },
    attempts: 3,
    time,
  };
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('admin API: dead letters on disk', () => {
  it('lists and counts every group on disk, skipping an undecodable record that is reported once', async () => {
    const temp = await tempDir('courier-admin-dead-disk-');
    const deadDir = join(temp.dir, 'dead-letters');
    // Dead letters of two groups, written before the broker starts, with a damaged record between.
    let log = await DeadLetterLog.open({ dir: deadDir, sync: 'none' });
    await log.add(entry('billing', 'b1', 1));
    await log.add(entry('ghost', 'g1', 2));
    await log.close();
    const raw = await StreamLog.open({ dir: join(deadDir, 'log'), name: 'dead-letters', sync: 'none' });
    await raw.append({ payload: Buffer.from([0xff, 0x00, 0x13, 0x37]) });
    await raw.close();
    // This open meets the damaged record too; the broker's own report is checked below.
    log = await DeadLetterLog.open({ dir: deadDir, sync: 'none', log: { warn: () => undefined } });
    await log.add(entry('billing', 'b2', 3));
    await log.close();

    const warnings: string[] = [];
    const broker = await startBroker({
      dir: temp.dir,
      port: 0,
      log: { warn: (_fields, message) => warnings.push(message) },
    });
    let admin: HttpAdmin | undefined;
    cleanup = async () => {
      await admin?.close();
      await broker.close();
      await temp.remove();
    };
    admin = await startHttpAdmin({ engine: broker.engine, host: '127.0.0.1', port: 0, ready: () => true });
    const http = `http://127.0.0.1:${admin.port}`;
    const get = async (path: string): Promise<unknown> => {
      const response = await fetch(http + path);
      expect(response.status).toBe(200);
      return response.json();
    };
    const post = async (path: string, body: unknown): Promise<unknown> => {
      const response = await fetch(http + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return response.json();
    };
    const ids = (list: unknown): string[] => (list as { id: string }[]).map((e) => e.id);

    // No group is open in this broker: the lists come from the dead-letter log.
    expect(await get('/api/overview')).toMatchObject({ groups: 0, deadLetters: 3 });
    expect(ids(await get('/api/dead-letters'))).toEqual(['b1', 'g1', 'b2']);
    expect(ids(await get('/api/dead-letters?group=billing'))).toEqual(['b1', 'b2']);
    expect(ids(await get('/api/dead-letters?group=ghost'))).toEqual(['g1']);
    expect(await post('/api/dead-letters/discard', { group: 'ghost' })).toEqual({ discarded: 1 });
    expect(await post('/api/dead-letters/discard', { group: 'billing', ids: ['b1'] })).toEqual({
      discarded: 1,
    });
    expect(await get('/api/overview')).toMatchObject({ deadLetters: 1 });
    expect(ids(await get('/api/dead-letters'))).toEqual(['b2']);
    const undecodable = warnings.filter((w) => w.includes('does not decode'));
    expect(undecodable).toHaveLength(1);
    expect(undecodable[0]).toMatch(/^dead-letter record \d+ does not decode/);
  });
});
