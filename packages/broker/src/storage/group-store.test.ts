import { describe, expect, it } from 'vitest';
import { GroupStore } from './group-store.js';
import { MemoryFileLayer } from './memory-file-layer.js';

const DIR = '/data/groups';

describe('GroupStore', () => {
  it('stores acks, floors and delivery counts, and reads them back after reopen', async () => {
    const layer = new MemoryFileLayer();
    const store = await GroupStore.open({ dir: DIR, fileLayer: layer });
    await store.create('billing');
    await store.create('mail', { ackFloor: 100 });
    expect(await store.delivered('billing', 2)).toBe(1);
    expect(await store.delivered('billing', 2)).toBe(2);
    await store.ack('billing', [1, 3, 5]);
    await store.ackThrough('mail', 110);
    expect(store.get('billing')).toMatchObject({ ackFloor: 1 });
    await store.close();

    const reopened = await GroupStore.open({ dir: DIR, fileLayer: layer });
    expect(reopened.names().sort()).toEqual(['billing', 'mail']);
    const billing = reopened.get('billing')!;
    expect(billing.ackFloor).toBe(1);
    expect(billing.ackedAboveFloor()).toEqual([3, 5]);
    expect(billing.deliveryCount(2)).toBe(2);
    expect(reopened.get('mail')!.ackFloor).toBe(110);
    await reopened.delete('mail');
    await expect(reopened.ack('mail', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await reopened.close();
  });

  it('compacts into a snapshot and a new log without losing anything, and removes the old log', async () => {
    const layer = new MemoryFileLayer();
    const store = await GroupStore.open({ dir: DIR, fileLayer: layer, compactAfterBytes: 200 });
    await store.create('g');
    for (let s = 1; s <= 60; s += 2) await store.ack('g', s);
    await store.delivered('g', 2);
    await store.close();
    const names = await layer.readdir(DIR);
    expect(names).toContain('groups.snapshot');
    expect(names.filter((n) => n.endsWith('.log'))).toHaveLength(1);
    expect(names.filter((n) => n.endsWith('.log'))[0]).not.toBe('groups.00000000000000000001.log');

    const reopened = await GroupStore.open({ dir: DIR, fileLayer: layer });
    expect(reopened.recovery.snapshot).toBe(true);
    const g = reopened.get('g')!;
    expect(g.ackFloor).toBe(1);
    expect(g.ackedAboveFloor()).toEqual(Array.from({ length: 29 }, (_, i) => 3 + i * 2));
    expect(g.deliveryCount(2)).toBe(1);
    await reopened.close();
  });

  it('rejects bad names and sequences', async () => {
    const store = await GroupStore.open({ dir: DIR, fileLayer: new MemoryFileLayer() });
    await expect(store.create('')).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await store.create('g');
    await expect(store.ack('g', -1)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(store.ack('missing', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await store.close();
  });
});
