/**
 * Starts librdkafka's mock Kafka cluster (packages/testkit/kafka-mock) for
 * one test file: a real Kafka-protocol server on a free loopback port,
 * in memory. Builds the launcher first if needed. The process exits when
 * its stdin closes, so it never outlives the tests.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../testkit/kafka-mock/', import.meta.url));

/**
 * Client settings for a cluster on this machine: short sessions, so that a
 * rebalance takes a second rather than the 45 s of Kafka's defaults (the
 * mock waits a session timeout less one second for members to rejoin).
 */
export const testTiming = {
  sessionTimeout: 2000,
  heartbeatInterval: 100,
  metadataRefresh: 200,
  revokeWait: 1000,
};

/** A running mock cluster. */
export interface MockCluster {
  /** `127.0.0.1:PORT`. */
  readonly bootstrap: string;
  /** Closes every client connection and refuses new ones, as a broker outage would. */
  down(): Promise<void>;
  /** Accepts connections again. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the launcher if needed and starts a cluster. */
export async function startMockCluster(): Promise<MockCluster> {
  const binary = `${dir}bin/mock-cluster`;
  if (!existsSync(binary)) execFileSync('bash', [`${dir}build.sh`], { stdio: 'inherit' });
  const child: ChildProcessWithoutNullStreams = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buffer = '';
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
      newline = buffer.indexOf('\n');
    }
  });
  child.stderr.resume();
  const nextLine = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      const timer = setTimeout(
        () => reject(new Error('the mock Kafka cluster did not answer within 10 s')),
        10_000,
      );
      waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => {
    for (const waiter of waiters.splice(0)) waiter(`error: ${error.message}`);
  });
  const bootstrap = await nextLine();
  if (!/^[\d.]+:\d+$/.test(bootstrap))
    throw new Error(`the mock Kafka cluster failed to start: ${bootstrap}`);
  const command = async (text: string): Promise<void> => {
    child.stdin.write(`${text}\n`);
    await nextLine();
  };
  return {
    bootstrap,
    down: () => command('down'),
    up: () => command('up'),
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
