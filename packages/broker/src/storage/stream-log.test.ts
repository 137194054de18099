import { CourierError } from '@courier/core';
import { afterEach, describe, expect, it } from 'vitest';
import { payloadFor, tempDir } from '../../test/helpers/temp-dir.js';
import { type FileLayer, nodeFileLayer, type StorageFile } from './file-layer.js';
import { MemoryFileLayer } from './memory-file-layer.js';
import { segmentName } from './segment.js';
import { StreamLog } from './stream-log.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.remove);
  return t.dir;
}

/** Counts writes and fdatasyncs that reach the disk. */
function countingLayer(base: FileLayer): { layer: FileLayer; writes: number; syncs: number } {
  const counts = { layer: base, writes: 0, syncs: 0 };
  counts.layer = {
    mkdir: (dir) => base.mkdir(dir),
    readdir: (dir) => base.readdir(dir),
    rename: (from, to) => base.rename(from, to),
    unlink: (path) => base.unlink(path),
    syncDir: (dir) => base.syncDir(dir),
    async open(path, mode) {
      const file = await base.open(path, mode);
      const wrapped: StorageFile = {
        read: (buffer, position) => file.read(buffer, position),
        sync: () => file.sync(),
        truncate: (size) => file.truncate(size),
        size: () => file.size(),
        close: () => file.close(),
        write: (buffer, position) => {
          if (path.endsWith('.log')) counts.writes++;
          return file.write(buffer, position);
        },
        datasync: () => {
          counts.syncs++;
          return file.datasync();
        },
      };
      return wrapped;
    },
  };
  return counts;
}

describe('StreamLog', () => {
  it('appends, reads back by sequence, by range and by time, and survives reopen', async () => {
    const d = await dir();
    let now = 1_000;
    const log = await StreamLog.open({
      dir: d,
      indexIntervalBytes: 128,
      maxSegmentBytes: 1024,
      now: () => now,
    });
    const results = [];
    for (let i = 0; i < 50; i++) {
      now += 10;
      results.push(await log.append({ id: `m${i}`, payload: payloadFor(`m${i}`) }));
    }
    expect(results.map((r) => r.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(log.info()).toMatchObject({ firstSequence: 1, lastSequence: 50, messages: 50 });
    expect(log.info().segments).toBeGreaterThan(3);
    const r17 = await log.read(17);
    expect(r17?.id).toBe('m16');
    expect(r17?.payload).toEqual(payloadFor('m16'));
    expect(await log.read(51)).toBeUndefined();
    const range = await log.readRange({ from: 10, maxRecords: 25 });
    expect(range.map((r) => r.sequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 10));
    expect(await log.sequenceAtTime(1_000 + 10 * 30)).toBe(30);
    expect(await log.sequenceAtTime(0)).toBe(1);
    expect(await log.sequenceAtTime(now + 1)).toBeUndefined();
    await log.close();

    const again = await StreamLog.open({
      dir: d,
      indexIntervalBytes: 128,
      maxSegmentBytes: 1024,
      now: () => now,
    });
    expect(again.recovery.truncated).toEqual([]);
    expect(again.recovery.indexesRebuilt).toBe(0);
    expect(again.info()).toMatchObject({ firstSequence: 1, lastSequence: 50, messages: 50 });
    expect((await again.read(33))?.id).toBe('m32');
    expect(await again.sequenceAtTime(1_000 + 10 * 42)).toBe(42);
    expect((await again.append({ payload: Buffer.from('x') })).sequence).toBe(51);
    await again.close();
  });

  it('commits all appends of one turn with one write and one fdatasync, resolving after it', async () => {
    const d = await dir();
    const counting = countingLayer(nodeFileLayer);
    const log = await StreamLog.open({ dir: d, fileLayer: counting.layer });
    counting.writes = 0;
    counting.syncs = 0;
    const appends = Array.from({ length: 500 }, (_, i) => log.append({ payload: payloadFor(`p${i}`) }));
    const results = await Promise.all(appends);
    expect(results.map((r) => r.sequence)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(counting.writes).toBe(1);
    expect(counting.syncs).toBe(1);

    for (let i = 0; i < 3; i++) await log.append({ payload: Buffer.from([i]) });
    expect(counting.writes).toBe(4);
    expect(counting.syncs).toBe(4);
    await log.close();
  });

  it('gathers appends made while a commit is in flight into the next commit', async () => {
    const layer = new MemoryFileLayer();
    const counting = countingLayer(layer);
    const log = await StreamLog.open({ dir: '/s', fileLayer: counting.layer });
    counting.writes = 0;
    const done: Promise<unknown>[] = [];
    // A closed loop of 200 in flight: each resolution issues the next append.
    const issue = (n: number): Promise<unknown> =>
      log
        .append({ payload: Buffer.from([n & 0xff]) })
        .then(() => (n + 200 < 2000 ? issue(n + 200) : undefined));
    for (let i = 0; i < 200; i++) done.push(issue(i));
    await Promise.all(done);
    expect(log.info().lastSequence).toBe(2000);
    expect(counting.writes).toBeLessThanOrEqual(20);
    await log.close();
  });

  it('acknowledges a duplicate id inside the window with the first sequence, also after reopen', async () => {
    const d = await dir();
    let now = 50_000;
    const open = () => StreamLog.open({ dir: d, dedupWindowMs: 1_000, now: () => now });
    const log = await open();
    const [a, b] = await Promise.all([
      log.append({ id: 'x', payload: Buffer.from('1') }),
      log.append({ id: 'x', payload: Buffer.from('2') }),
    ]);
    expect(a).toEqual({ sequence: 1, duplicate: false });
    expect(b).toEqual({ sequence: 1, duplicate: true });
    expect(await log.append({ id: 'x', payload: Buffer.from('3') })).toEqual({
      sequence: 1,
      duplicate: true,
    });
    await log.append({ id: 'y', payload: Buffer.from('4') });
    await log.close();

    now += 500;
    const reopened = await open();
    expect(reopened.recovery.dedupEntries).toBe(2);
    expect(await reopened.append({ id: 'y', payload: Buffer.from('5') })).toEqual({
      sequence: 2,
      duplicate: true,
    });
    now += 1_000;
    expect(await reopened.append({ id: 'y', payload: Buffer.from('6') })).toEqual({
      sequence: 3,
      duplicate: false,
    });
    await reopened.close();
    const late = await open();
    expect(late.lookupId('x')).toBeUndefined();
    expect(late.lookupId('y')).toBe(3);
    await late.close();
  });

  it('drops whole segments by max messages, max bytes and max age (discard old)', async () => {
    let now = 0;
    const log = await StreamLog.open({
      dir: '/s',
      fileLayer: new MemoryFileLayer(),
      limits: { maxMessages: 80, maxAgeMs: 10_000 },
      now: () => now,
    });
    expect(log.options.maxSegmentMessages).toBe(10);
    for (let i = 0; i < 200; i++) await log.append({ payload: Buffer.from([i & 0xff]) });
    const info = log.info();
    expect(info.lastSequence).toBe(200);
    expect(info.messages).toBeLessThanOrEqual(80);
    expect(info.messages).toBeGreaterThanOrEqual(70);
    expect(info.firstSequence).toBe(200 - info.messages + 1);
    expect(await log.read(info.firstSequence - 1)).toBeUndefined();

    now = 20_000;
    const outcome = await log.applyRetention();
    expect(outcome.reasons.every((r) => r === 'max_age')).toBe(true);
    expect(log.info()).toMatchObject({ messages: 0, firstSequence: 201, lastSequence: 200 });
    expect((await log.append({ payload: Buffer.from('n') })).sequence).toBe(201);
    await log.close();
  });

  it('keeps segments until the engine releases them, then drops only whole segments below the floor', async () => {
    const layer = new MemoryFileLayer();
    const log = await StreamLog.open({ dir: '/s', fileLayer: layer, maxSegmentMessages: 10 });
    for (let i = 0; i < 35; i++) await log.append({ payload: Buffer.from([i]) });
    expect(log.info().segments).toBe(4);
    expect(await log.releaseBelow(15)).toMatchObject({ segments: 1, messages: 10 });
    expect(log.info().firstSequence).toBe(11);
    expect(await log.releaseBelow(36)).toMatchObject({ segments: 3, messages: 25 });
    expect(log.info()).toMatchObject({ messages: 0, firstSequence: 36, segments: 1 });
    await log.close();
    const reopened = await StreamLog.open({ dir: '/s', fileLayer: layer, maxSegmentMessages: 10 });
    expect(reopened.info()).toMatchObject({ messages: 0, firstSequence: 36, lastSequence: 35 });
    expect((await reopened.append({ payload: Buffer.from('z') })).sequence).toBe(36);
    await reopened.close();
  });

  it("refuses new messages at a limit with discard 'new' and a STREAM_FULL that says what to do", async () => {
    const log = await StreamLog.open({
      dir: '/s',
      fileLayer: new MemoryFileLayer(),
      name: 'orders',
      limits: { maxMessages: 5, discard: 'new' },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 7 }, () => log.append({ payload: Buffer.from('x') })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(CourierError.is(refused.reason, 'STREAM_FULL')).toBe(true);
    expect((refused.reason as CourierError).retryable).toBe(true);
    expect((refused.reason as CourierError).message).toMatch(
      /stream orders is at its limit max_messages 5.*acknowledge/,
    );
    expect(log.info().messages).toBe(5);
    await log.close();
  });

  it('rejects oversized records, bad options and appends after close', async () => {
    const log = await StreamLog.open({ dir: '/s', fileLayer: new MemoryFileLayer(), maxRecordBytes: 100 });
    await expect(log.append({ payload: Buffer.alloc(101) })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await log.close();
    await expect(log.append({ payload: Buffer.alloc(1) })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    await expect(
      StreamLog.open({ dir: '/s', fileLayer: new MemoryFileLayer(), sync: { interval: -1 } }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(
      StreamLog.open({ dir: '/s', fileLayer: new MemoryFileLayer(), limits: { maxBytes: 0 } }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it.each([['none' as const], [{ interval: 5 }]])(
    'with sync %j, appends resolve and survive a clean close',
    async (sync) => {
      const layer = new MemoryFileLayer();
      const log = await StreamLog.open({ dir: '/s', fileLayer: layer, sync });
      await Promise.all(Array.from({ length: 20 }, (_, i) => log.append({ payload: Buffer.from([i]) })));
      await log.close();
      const crashed = layer.crashImage(() => 0);
      const reopened = await StreamLog.open({ dir: '/s', fileLayer: crashed });
      expect(reopened.info().lastSequence).toBe(20);
      await reopened.close();
    },
  );

  it('rebuilds missing or stale sealed indexes and reports a damaged sealed segment', async () => {
    const layer = new MemoryFileLayer();
    const open = () =>
      StreamLog.open({ dir: '/s', fileLayer: layer, maxSegmentMessages: 10, indexIntervalBytes: 64 });
    const log = await open();
    for (let i = 0; i < 30; i++) await log.append({ id: `r${i}`, payload: Buffer.alloc(40, i) });
    await log.close();
    await layer.unlink(`/s/${segmentName(1)}`.replace('.log', '.idx'));
    const idx11 = `/s/${segmentName(11)}`.replace('.log', '.idx');
    const stale = Buffer.from(layer.fileData(idx11)!);
    stale[20] = stale[20]! ^ 1;
    layer.setFileData(idx11, stale);
    const rebuilt = await open();
    expect(rebuilt.recovery.indexesRebuilt).toBe(2);
    expect((await rebuilt.read(15))?.id).toBe('r14');
    await rebuilt.close();
    const clean = await open();
    expect(clean.recovery.indexesRebuilt).toBe(0);
    await clean.close();

    // Bit rot inside a sealed segment: the records before it stay, the ones after it in that segment go.
    const seg1 = `/s/${segmentName(1)}`;
    const bytes = Buffer.from(layer.fileData(seg1)!);
    const recordBytes = bytes.length / 10;
    bytes[Math.floor(recordBytes * 4.5)] = bytes[Math.floor(recordBytes * 4.5)]! ^ 1;
    layer.setFileData(seg1, bytes);
    await layer.unlink(seg1.replace('.log', '.idx'));
    const damaged = await open();
    expect(damaged.recovery.truncated).toMatchObject([
      { segment: segmentName(1), kind: 'corrupt', position: recordBytes * 4 },
    ]);
    expect((await damaged.readRange({ from: 1, maxRecords: 100 })).map((r) => r.sequence)).toEqual([
      1,
      2,
      3,
      4,
      ...Array.from({ length: 20 }, (_, i) => i + 11),
    ]);
    await damaged.close();
  });
});
