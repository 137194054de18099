// What the results depend on besides the code: the machine, the runtime, the
// client libraries and the Courier revision, gathered once per run.
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { quantile } from './timing.mjs';

const ROOT = new URL('../../../', import.meta.url);

function quiet(command, args) {
  try {
    return execFileSync(command, args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function installed(name) {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, ROOT), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

/** Courier's revision: the commit, and whether the packages differ from it. */
export function courierRevision() {
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown commit';
  const dirty = quiet('git', [
    'status',
    '--porcelain',
    '--',
    'packages/core',
    'packages/broker',
    'packages/cli',
  ]);
  return `Courier ${commit}${dirty ? ' with uncommitted changes in core, broker or cli' : ''}`;
}

/** The machine and runtime, as lines for RESULTS.md. */
export function machine() {
  const fs = quiet('df', ['--output=fstype,source', tmpdir()])?.split('\n')[1]?.trim();
  return {
    cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `Linux ${release()}`,
    disk: `${tmpdir()} on ${fs ?? 'unknown filesystem'}`,
    node: process.version,
    clients: ['@nats-io/transport-node', '@nats-io/jetstream', 'amqplib', 'ioredis']
      .map((name) => `${name} ${installed(name)}`)
      .join(', '),
  };
}

/** What one fdatasync after a 4 KiB append costs on the disk under tmpdir: p50 and p99 of 200, in ms. */
export function fsyncProbe() {
  const dir = mkdtempSync(join(tmpdir(), 'courier-bench-fsync-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  const block = Buffer.alloc(4096, 97);
  const times = [];
  try {
    for (let i = 0; i < 200; i++) {
      writeSync(fd, block);
      const start = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}
