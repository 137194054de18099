/**
 * Failed writes, syncs and truncations from an injected file layer: the
 * affected appends and group changes reject with a retryable error, the file
 * is cut back to the last good record (or cut before the next write when the
 * cut itself failed), reads go on, and a reopen finds nothing that was
 * reported as failed.
 */
import { join } from 'node:path';
import { GroupStore, StreamLog } from '@courier/broker';
import { MemoryFileLayer, segmentName } from '@courier/broker/internal';
import { describe, expect, it } from 'vitest';

const DIR = '/disk/stream';
const SEGMENT = join(DIR, segmentName(1));

async function setup() {
  const layer = new MemoryFileLayer();
  const log = await StreamLog.open({ dir: DIR, fileLayer: layer, name: 'orders' });
  for (let i = 0; i < 5; i++) await log.append({ id: `ok${i}`, payload: Buffer.from(`ok${i}`) });
  return { layer, log, goodSize: layer.fileData(SEGMENT)!.length };
}

async function reopenIds(layer: MemoryFileLayer): Promise<Array<string | undefined>> {
  const log = await StreamLog.open({ dir: DIR, fileLayer: layer.crashImage(() => 0.99) });
  const ids = (await log.readRange({ from: 1 })).map((r) => r.id);
  expect(log.recovery.truncated).toEqual([]);
  await log.close();
  return ids;
}

describe('I/O errors on append', () => {
  it.each(['write', 'datasync'] as const)(
    'a failed %s rejects the batch with STORAGE_ERROR and cuts the file back',
    async (op) => {
      const { layer, log, goodSize } = await setup();
      layer.inject({ op, code: 'EIO', path: /\.log$/, times: 1 });
      const failed = await Promise.allSettled([
        log.append({ payload: Buffer.from('a') }),
        log.append({ payload: Buffer.from('b') }),
      ]);
      for (const r of failed) {
        expect(r.status).toBe('rejected');
        const reason = (r as PromiseRejectedResult).reason;
        expect(reason).toMatchObject({ code: 'STORAGE_ERROR', retryable: true });
        expect(reason.message).toMatch(
          /EIO.*appending 2 records to stream orders.*not stored.*intact.*retry/,
        );
      }
      expect(layer.fileData(SEGMENT)!.length).toBe(goodSize);
      expect((await log.read(5))?.id).toBe('ok4');
      expect(await log.append({ id: 'next', payload: Buffer.from('n') })).toEqual({
        sequence: 6,
        duplicate: false,
      });
      await log.close();
      expect(await reopenIds(layer)).toEqual(['ok0', 'ok1', 'ok2', 'ok3', 'ok4', 'next']);
    },
  );

  it('when cutting back fails too, the next write cuts first, and no rejected record ever resurfaces', async () => {
    const { layer, log, goodSize } = await setup();
    layer.inject({ op: 'datasync', code: 'EIO', path: /\.log$/, times: 1 });
    layer.inject({ op: 'truncate', code: 'EIO', path: /\.log$/, times: 1 });
    const big = Buffer.alloc(500, 7);
    await expect(log.append({ id: 'lost', payload: big })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    // The rejected bytes are still in the file, beyond the committed size, invisible to reads.
    expect(layer.fileData(SEGMENT)!.length).toBeGreaterThan(goodSize);
    expect(await log.read(6)).toBeUndefined();
    // A crash now would find a valid-looking record 6 in the tail: recovery must only keep it if it was acked.
    // It was not, so the next append must cut it away before writing (a shorter record would leave it behind).
    expect(await log.append({ id: 'short', payload: Buffer.from('s') })).toEqual({
      sequence: 6,
      duplicate: false,
    });
    await log.close();
    expect(await reopenIds(layer)).toEqual(['ok0', 'ok1', 'ok2', 'ok3', 'ok4', 'short']);
  });

  it('keeps failing while the disk fails, serves reads meanwhile, and resumes when it recovers', async () => {
    const { layer, log } = await setup();
    layer.inject({ op: 'write', code: 'EIO', path: /\.log$/ });
    layer.inject({ op: 'truncate', code: 'EIO', path: /\.log$/ });
    for (let i = 0; i < 3; i++) {
      await expect(log.append({ payload: Buffer.alloc(100 + i) })).rejects.toMatchObject({
        code: 'STORAGE_ERROR',
      });
      expect((await log.readRange({ from: 1 })).map((r) => r.id)).toEqual([
        'ok0',
        'ok1',
        'ok2',
        'ok3',
        'ok4',
      ]);
    }
    layer.clearFaults();
    expect((await log.append({ id: 'back', payload: Buffer.from('b') })).sequence).toBe(6);
    await log.close();
    expect(await reopenIds(layer)).toEqual(['ok0', 'ok1', 'ok2', 'ok3', 'ok4', 'back']);
  });

  it('a failed segment roll rejects the appends that needed the new segment and is retried', async () => {
    const layer = new MemoryFileLayer();
    const log = await StreamLog.open({ dir: DIR, fileLayer: layer, maxSegmentMessages: 3 });
    for (let i = 0; i < 3; i++) await log.append({ payload: Buffer.from([i]) });
    layer.inject({ op: 'syncDir', code: 'EIO', times: 1 });
    await expect(log.append({ payload: Buffer.from('x') })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    expect((await log.append({ payload: Buffer.from('y') })).sequence).toBe(4);
    expect(log.info()).toMatchObject({ segments: 2, messages: 4 });
    await log.close();
  });
});

describe('I/O errors in group state', () => {
  it('rejects changes that were not stored, applies none of them, and recovers', async () => {
    const layer = new MemoryFileLayer();
    const store = await GroupStore.open({ dir: '/disk/groups', fileLayer: layer });
    await store.create('g');
    await store.ack('g', 1);
    layer.inject({ op: 'datasync', code: 'ENOSPC', times: 1 });
    await expect(store.ack('g', 2)).rejects.toMatchObject({ code: 'STORAGE_FULL', retryable: true });
    expect(store.get('g')!.isAcked(2)).toBe(false);
    await store.ack('g', 3);
    await store.close();
    const reopened = await GroupStore.open({ dir: '/disk/groups', fileLayer: layer.crashImage(() => 0.99) });
    expect(reopened.get('g')!.ackFloor).toBe(1);
    expect(reopened.get('g')!.ackedAboveFloor()).toEqual([3]);
    await reopened.close();
  });

  it('a failed compaction keeps the state in the current log', async () => {
    const layer = new MemoryFileLayer();
    const store = await GroupStore.open({ dir: '/disk/groups', fileLayer: layer });
    await store.create('g');
    await store.ack('g', 1);
    layer.inject({ op: 'rename', code: 'EIO', times: 1 });
    await expect(store.compact()).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await store.ack('g', 2);
    await store.compact();
    await store.ack('g', 4);
    await store.close();
    const reopened = await GroupStore.open({ dir: '/disk/groups', fileLayer: layer.crashImage(() => 0.99) });
    expect(reopened.recovery.snapshot).toBe(true);
    expect(reopened.get('g')!.ackFloor).toBe(2);
    expect(reopened.get('g')!.ackedAboveFloor()).toEqual([4]);
    await reopened.close();
  });
});
