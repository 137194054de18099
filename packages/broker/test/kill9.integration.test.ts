/**
 * kill -9 under load: a publisher process publishes without pause while the
 * test kills the broker process with SIGKILL at random moments, ten times,
 * restarting it each time. Every publish the publisher saw confirmed must
 * then be delivered to each group. Runs the built CLI and packages (npm test
 * builds before testing).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '@courier/core';
import { Collector, freePort } from '@courier/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const cli = join(root, 'packages/cli/bin/courier.js');
const publisherScript = join(root, 'packages/broker/test/fixtures/publisher.mjs');
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a process and gives its stdout lines to a collector. */
function start(args: string[]): { child: ChildProcess; lines: Collector<string> } {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines = new Collector<string>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
  return { child, lines };
}

function startBroker(dir: string, port: number) {
  const broker = start([cli, 'broker', '--data', dir, '--port', String(port), '--http-port', '0']);
  return {
    ...broker,
    listening: broker.lines.until(
      (l) => l.some((line) => line.includes('broker listening')),
      20_000,
      'the broker to listen',
    ),
  };
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

describe('broker under kill -9', () => {
  it('delivers every confirmed publish to every group after ten SIGKILLs under load', {
    timeout: 240_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'courier-kill9-'));
    const port = await freePort();
    const url = `courier://127.0.0.1:${port}`;
    let broker = startBroker(dir, port);
    await broker.listening;
    const groups = ['billing', 'audit'];
    {
      await using setup = await connect(url);
      // Create the durable groups before any publish, so each must get every message.
      for (const group of groups) await setup.subscribe('kill9.orders', () => undefined, { group }).close();
    }

    const publisher = start([publisherScript, String(port)]);
    for (let round = 0; round < 10; round++) {
      // A random amount of confirmed load between kills.
      const target = publisher.lines.items.length + 200 + Math.floor(Math.random() * 800);
      await publisher.lines.count(target, 60_000);
      broker.child.kill('SIGKILL');
      await exited(broker.child);
      broker = startBroker(dir, port);
      await broker.listening;
    }
    await publisher.lines.count(publisher.lines.items.length + 100, 60_000);
    publisher.child.kill('SIGTERM');
    await publisher.lines.until(
      (l) => l.includes('done'),
      60_000,
      'the publisher to settle its last publishes',
    );
    await exited(publisher.child);
    const confirmed = new Set(publisher.lines.items.filter((line) => line !== 'done'));
    expect(confirmed.size).toBeGreaterThan(2000);

    await using consumer = await connect(url);
    for (const group of groups) {
      const seen = new Set<string>();
      const got = new Collector<string>();
      const sub = consumer.subscribe(
        'kill9.orders',
        (_data, ctx) => {
          seen.add(ctx.id);
          got.push(ctx.id);
        },
        { group, concurrency: 64 },
      );
      await got.until(
        () => [...confirmed].every((id) => seen.has(id)),
        120_000,
        `every confirmed id in ${group}`,
      );
      await sub.close();
      const missing = [...confirmed].filter((id) => !seen.has(id));
      expect(missing, `confirmed but not delivered to ${group}`).toEqual([]);
    }
    broker.child.kill('SIGTERM');
    await exited(broker.child);
    await rm(dir, { recursive: true, force: true });
  });
});
