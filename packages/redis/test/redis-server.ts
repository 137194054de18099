/**
 * Test helpers: a private `redis-server` on a free port with its own data
 * directory (append-only file, fsync on every write), which tests may kill
 * and restart without touching the machine's shared Redis; and cleanup of a
 * test namespace's keys on any server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@courier/testkit';
import { Redis } from 'ioredis';

/** A private Redis server. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server as a crash would (SIGKILL) and starts it again on the same port and data. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function waitForPing(port: number, within = 10_000): Promise<void> {
  const deadline = Date.now() + within;
  for (;;) {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} did not answer within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts `redis-server` on a free port with a temp directory. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'courier-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    await waitForPing(port);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    // Killed by a signal, a process has a signalCode and no exitCode: either means it is gone.
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deletes every key of a namespace (`{prefix}:*`). */
export async function deleteNamespace(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
