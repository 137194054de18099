/**
 * Disk full: a real size-limited tmpfs when the test may mount one (root),
 * and always an injected file layer with a capacity. A ballast file takes
 * space up front; appends run until the disk refuses; the test checks the
 * error, that reads go on and nothing acknowledged was lost, then deletes
 * the ballast and checks that appends resume with no hole and that a reopen
 * finds exactly the acknowledged records.
 */
import { execFileSync } from 'node:child_process';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileLayer, GroupStore, nodeFileLayer, StreamLog } from '@courier/broker';
import { MemoryFileLayer } from '@courier/broker/internal';
import { CourierError } from '@courier/core';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir.js';

interface DiskEnv {
  dir: string;
  layer: FileLayer;
  cleanup(): Promise<void>;
}

async function tmpfsEnv(): Promise<DiskEnv> {
  const t = await tempDir('courier-enospc-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=384k', 'tmpfs', t.dir], { stdio: 'pipe' });
  return {
    dir: t.dir,
    layer: nodeFileLayer,
    async cleanup() {
      execFileSync('umount', [t.dir], { stdio: 'pipe' });
      await rmdir(t.dir);
    },
  };
}

/** Whether a real tmpfs can be mounted here, and if not, why. */
async function probeTmpfs(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `platform is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    const env = await tmpfsEnv();
    await env.cleanup();
    return undefined;
  } catch (error) {
    return `mount failed: ${(error as Error).message.split('\n')[0]}`;
  }
}

const tmpfsUnavailable = await probeTmpfs();
const envs: Array<{ name: string; make(): Promise<DiskEnv> }> = [
  {
    name: 'an injected file layer with a 384 KiB capacity',
    async make() {
      const layer = new MemoryFileLayer({ capacityBytes: 384 * 1024 });
      return { dir: '/disk', layer, cleanup: async () => undefined };
    },
  },
];
if (tmpfsUnavailable === undefined)
  envs.unshift({ name: 'a real tmpfs of 384 KiB (mounted as root)', make: tmpfsEnv });

for (const { name, make } of envs) {
  describe(`disk full on ${name}`, () => {
    it('fails appends with STORAGE_FULL, loses nothing acknowledged, keeps reads going and resumes when space returns', async () => {
      const env = await make();
      try {
        const { dir, layer } = env;
        await layer.mkdir(dir);
        const ballast = await layer.open(join(dir, 'ballast'), 'replace');
        await ballast.write(Buffer.alloc(96 * 1024, 1), 0);
        await ballast.close();

        const open = () =>
          StreamLog.open({
            dir: join(dir, 'stream'),
            fileLayer: layer,
            maxSegmentBytes: 32 * 1024,
            name: 'orders',
          });
        const log = await open();
        const groups = await GroupStore.open({ dir: join(dir, 'groups'), fileLayer: layer });
        await groups.create('g');
        const payload = (n: number) => Buffer.alloc(1000, n & 0xff);
        const acked = new Map<number, number>();
        let failure: unknown;
        for (let n = 0; failure === undefined && n < 2000; n += 10) {
          const batch = Array.from({ length: 10 }, (_, k) =>
            log.append({ id: `m${n + k}`, payload: payload(n + k) }),
          );
          const results = await Promise.allSettled(batch);
          for (const [k, r] of results.entries()) {
            if (r.status === 'fulfilled') acked.set(r.value.sequence, n + k);
            else failure ??= r.reason;
          }
        }
        expect(CourierError.is(failure, 'STORAGE_FULL')).toBe(true);
        const error = failure as CourierError;
        expect(error.retryable).toBe(true);
        expect(error.message).toMatch(/disk full .* not stored .* Free disk space/);
        expect(acked.size).toBeGreaterThan(100);
        const last = Math.max(...acked.keys());
        expect([...acked.keys()].sort((a, b) => a - b)).toEqual(
          Array.from({ length: last }, (_, i) => i + 1),
        );

        // Still full: appends keep failing, group state too, and reads go on.
        await expect(log.append({ payload: Buffer.alloc(4000) })).rejects.toMatchObject({
          code: 'STORAGE_FULL',
        });
        const ackOnFull = await groups.ack('g', 1).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (ackOnFull !== undefined)
          expect(ackOnFull).toMatchObject({ code: 'STORAGE_FULL', retryable: true });
        for (const [sequence, n] of acked) expect((await log.read(sequence))?.payload).toEqual(payload(n));

        // Space returns: appends resume right after the last acknowledged record.
        await layer.unlink(join(dir, 'ballast'));
        const resumed = await log.append({ id: 'after', payload: payload(7) });
        expect(resumed).toEqual({ sequence: last + 1, duplicate: false });
        await groups.ack('g', 1);
        await log.close();
        await groups.close();

        const reopened = await open();
        expect(reopened.recovery.truncated).toEqual([]);
        const records = await reopened.readRange({
          from: 1,
          maxRecords: 10_000,
          maxBytes: Number.MAX_SAFE_INTEGER,
        });
        expect(records.map((r) => r.sequence)).toEqual(Array.from({ length: last + 1 }, (_, i) => i + 1));
        for (const [sequence, n] of acked) expect(records[sequence - 1]?.payload).toEqual(payload(n));
        await reopened.close();
        const groupsAgain = await GroupStore.open({ dir: join(dir, 'groups'), fileLayer: layer });
        expect(groupsAgain.get('g')?.isAcked(1)).toBe(true);
        await groupsAgain.close();
      } finally {
        await env.cleanup();
      }
    });
  });
}

describe('disk full environment', () => {
  it(`reports which file systems ran: ${tmpfsUnavailable === undefined ? 'real tmpfs and injected layer' : `injected layer only (${tmpfsUnavailable})`}`, () => {
    expect(envs.length).toBeGreaterThanOrEqual(1);
  });
});
