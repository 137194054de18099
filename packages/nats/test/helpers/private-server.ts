/**
 * A private nats-server with JetStream on a free loopback port and a temp
 * directory, for tests that restart the engine: the machine's shared server
 * is never stopped. Set NATS_SERVER to use another binary.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@courier/testkit';

const BINARY = process.env['NATS_SERVER'] ?? '/usr/sbin/nats-server';

/** A running private server. */
export interface PrivateServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and starts it again on the same port and data. */
  restart(options?: { kill?: boolean }): Promise<void>;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      // The server says so once it listens for clients.
      if (log.includes('Server is ready')) {
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`nats-server exited with ${code} before it was ready: ${log}`)),
    );
  });
}

function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Starts a private server. */
export async function startPrivateServer(): Promise<PrivateServer> {
  const dir = await mkdtemp(join(tmpdir(), 'courier-nats-'));
  const port = await freePort();
  let child = await launch(port, dir);
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    async restart(options = {}) {
      await exited(child, options.kill ? 'SIGKILL' : 'SIGTERM');
      child = await launch(port, dir);
    },
    async stop() {
      await exited(child, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
