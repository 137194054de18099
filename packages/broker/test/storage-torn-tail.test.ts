/**
 * Torn and corrupt tails: for every byte offset of the last records of the
 * active segment (and of the group state log), cut the file there or flip
 * the byte there; reopening keeps exactly the records before the damage and
 * appends continue after them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GroupStore, StreamLog } from '@courier/broker';
import { segmentName } from '@courier/broker/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadFor, tempDir } from './helpers/temp-dir.js';

let root: { dir: string; remove(): Promise<void> };
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});

describe('torn and corrupt stream tails', () => {
  it('keeps exactly the records before a cut or a flipped byte at any offset of the last three records', async () => {
    const dir = join(root.dir, 'stream');
    const log = await StreamLog.open({ dir });
    const ids = Array.from({ length: 8 }, (_, i) => `id-${i}`);
    for (const id of ids) await log.append({ id, payload: payloadFor(id, 20 + id.length) });
    await log.close();
    const path = join(dir, segmentName(1));
    const pristine = await readFile(path);
    // Record boundaries: every record here has the same size.
    const recordBytes = pristine.length / ids.length;
    const tailStart = pristine.length - 3 * recordBytes;
    let checked = 0;
    for (let offset = tailStart; offset < pristine.length; offset++) {
      const survivors = Math.floor(offset / recordBytes);
      for (const damage of ['cut', 'flip'] as const) {
        const bytes = Buffer.from(pristine);
        if (damage === 'flip') bytes[offset] = bytes[offset]! ^ 0x5a;
        await writeFile(path, damage === 'cut' ? bytes.subarray(0, offset) : bytes);
        const reopened = await StreamLog.open({ dir });
        const records = await reopened.readRange({ from: 1, maxRecords: 100 });
        expect(
          records.map((r) => r.id),
          `${damage} at ${offset}`,
        ).toEqual(ids.slice(0, survivors));
        const cutAtBoundary = damage === 'cut' && offset % recordBytes === 0;
        expect(reopened.recovery.truncated.length, `${damage} at ${offset}`).toBe(cutAtBoundary ? 0 : 1);
        if (!cutAtBoundary) {
          expect(reopened.recovery.truncated[0]).toMatchObject({ position: survivors * recordBytes });
        }
        expect((await reopened.append({ id: 'after', payload: Buffer.from('z') })).sequence).toBe(
          survivors + 1,
        );
        await reopened.close();
        const again = await StreamLog.open({ dir });
        expect(again.recovery.truncated).toEqual([]);
        expect((await again.read(survivors + 1))?.id).toBe('after');
        await again.close();
        checked++;
      }
    }
    expect(checked).toBe(6 * recordBytes);
  });
});

describe('torn and corrupt group state tails', () => {
  it('keeps exactly the changes before a cut or a flipped byte at any offset of the last three', async () => {
    const dir = join(root.dir, 'groups');
    const store = await GroupStore.open({ dir });
    await store.create('g');
    for (let s = 1; s <= 6; s++) await store.ack('g', s * 2);
    await store.close();
    const path = join(dir, 'groups.00000000000000000001.log');
    const pristine = await readFile(path);
    // After the create, each ack op has the same size.
    const opBytes = 11 + 1 + 8;
    const createBytes = pristine.length - 6 * opBytes;
    for (let offset = pristine.length - 3 * opBytes; offset < pristine.length; offset++) {
      const survivors = Math.floor((offset - createBytes) / opBytes);
      for (const damage of ['cut', 'flip'] as const) {
        const bytes = Buffer.from(pristine);
        if (damage === 'flip') bytes[offset] = bytes[offset]! ^ 0x01;
        await writeFile(path, damage === 'cut' ? bytes.subarray(0, offset) : bytes);
        const reopened = await GroupStore.open({ dir });
        const acked = reopened.get('g')!.ackedAboveFloor();
        expect(acked, `${damage} at ${offset}`).toEqual(
          Array.from({ length: survivors }, (_, i) => (i + 1) * 2),
        );
        await reopened.close();
      }
    }
  });
});
