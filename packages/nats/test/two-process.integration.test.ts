/**
 * Two processes: a child publishes through the built adapter (loaded by
 * `connect('nats://...')`, as an application would) and reports every
 * confirmed message; this process consumes through its own Bus, and every
 * confirmed message arrives.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '@courier/core';
import { Collector, uniqueName } from '@courier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_URL, TestDeployment } from './helpers/shared-server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/publisher-child.mjs', import.meta.url));
const deployment = new TestDeployment();

beforeAll(() => {
  // The child runs the built packages: build them (incremental, quick when up to date).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'packages/nats'], { cwd: root, stdio: 'pipe' });
}, 180_000);
afterAll(() => deployment.remove());

function runChild(url: string, subject: string, count: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, url, subject, String(count)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const confirmed = new Map<number, string>();
    let stderr = '';
    let done = false;
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const [kind, n, id] = line.split(' ');
      if (kind === 'C') confirmed.set(Number(n), id as string);
      if (kind === 'done') done = true;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code === 0 && done) resolve(confirmed);
      else reject(new Error(`publisher exited with ${code}: ${stderr}`));
    });
  });
}

describe('nats across two processes', () => {
  it('a child process publishes, this one consumes through its own Bus: every confirmed message arrives', async () => {
    const subject = `${uniqueName('s')}.twoproc`;
    const url = `nats://${SHARED_URL.host}?stream=${deployment.stream}&prefix=${deployment.prefix}`;
    const bus = await connect(url, { service: 'consumer' });
    try {
      const seen = new Collector<{ n: number; id: string }>();
      await bus.subscribe<number>(subject, (n, ctx) => seen.push({ n, id: ctx.id }), {
        group: 'g',
        concurrency: 8,
      }).ready;
      const count = 500;
      const confirmed = await runChild(url, subject, count);
      expect(confirmed.size).toBe(count);
      await seen.until(
        (items) => new Set(items.map((i) => i.n)).size >= count,
        20_000,
        'every confirmed message',
      );
      const received = new Map(seen.items.map((i) => [i.n, i.id]));
      expect(received).toEqual(confirmed);
    } finally {
      await bus.close({ timeout: 1000 });
    }
  }, 60_000);
});
