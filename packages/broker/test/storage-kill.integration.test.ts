/**
 * Crash test: a child process appends with `sync` and acks in a group,
 * reporting each resolved append and ack; the test kills it with SIGKILL at
 * random moments (after a random number of reports, never after a sleep),
 * ten times, reopening the storage each time and checking that every
 * reported record and ack is there.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GroupStore, StreamLog } from '@courier/broker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/append-child.mjs', import.meta.url));
const payloadFor = (id: string) => Buffer.from(`${id}|`.repeat(1 + (id.length % 7)));

let temp: { dir: string; remove(): Promise<void> };
beforeAll(async () => {
  // The child runs the built package: build it (incremental, quick when up to date).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'packages/broker'], { cwd: root, stdio: 'pipe' });
  temp = await tempDir('courier-kill-');
}, 180_000);
afterAll(async () => {
  await temp?.remove();
});

interface Run {
  appended: Map<number, string>;
  groupAcked: Set<number>;
  firstReady: number;
}

/** Starts the child, kills it with SIGKILL once it reported `killAfter` appends, and returns what it reported. */
function runUntilKilled(dir: string, inFlight: number, killAfter: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, String(inFlight)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { appended: new Map(), groupAcked: new Set(), firstReady: -1 };
    let stderr = '';
    let killed = false;
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'ready') run.firstReady = Number(a);
      else if (kind === 'A') run.appended.set(Number(a), b!);
      else if (kind === 'G') run.groupAcked.add(Number(a));
      if (!killed && run.appended.size >= killAfter) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    // 'close' fires after stdout is drained, so every line the child wrote has been read.
    proc.on('close', (code, signal) => {
      if (signal !== 'SIGKILL')
        reject(new Error(`child exited with ${code}/${signal} before the kill: ${stderr}`));
      else resolve(run);
    });
  });
}

describe('kill -9 while appending with sync', () => {
  it('keeps every reported append and group ack across ten SIGKILLs at random moments', async () => {
    const allAppended = new Map<number, string>();
    const allAcked = new Set<number>();
    for (let round = 0; round < 10; round++) {
      const inFlight = 1 + Math.floor(Math.random() * 48);
      const killAfter = 1 + Math.floor(Math.random() * 400);
      const run = await runUntilKilled(temp.dir, inFlight, killAfter);
      for (const [s, id] of run.appended) allAppended.set(s, id);
      for (const s of run.groupAcked) allAcked.add(s);

      const log = await StreamLog.open({ dir: join(temp.dir, 'stream') });
      const info = log.info();
      const records = await log.readRange({
        from: 1,
        maxRecords: 1_000_000,
        maxBytes: Number.MAX_SAFE_INTEGER,
      });
      expect(records.map((r) => r.sequence)).toEqual(Array.from({ length: records.length }, (_, i) => i + 1));
      for (const r of records) expect(r.payload).toEqual(payloadFor(r.id!));
      const byId = new Map(records.map((r) => [r.sequence, r.id]));
      for (const [sequence, id] of allAppended) expect(byId.get(sequence), `record ${sequence}`).toBe(id);
      // The next run starts after whatever survived, reported or not.
      expect(info.lastSequence).toBeGreaterThanOrEqual(Math.max(0, ...run.appended.keys()));
      await log.close();

      const groups = await GroupStore.open({ dir: join(temp.dir, 'groups') });
      const g = groups.get('g')!;
      for (const s of allAcked) expect(g.isAcked(s), `ack ${s}`).toBe(true);
      for (let s = 1; s <= g.ackFloor; s++) expect(byId.has(s)).toBe(true);
      await groups.close();
    }
    expect(allAppended.size).toBeGreaterThan(10);
  }, 120_000);
});
