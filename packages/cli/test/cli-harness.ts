/**
 * What the CLI tests share: `courier(...)` runs the command in-process
 * through `run(argv, io)` with captured output, and `testBroker()` starts a
 * real broker with its HTTP admin API on free ports in a temp directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { type BrokerServer, type HttpAdmin, startBroker, startHttpAdmin } from '@courier/broker';
import { run } from '../src/index.js';
import type { CliInput, CliIo } from '../src/io.js';

/** What a run printed and returned. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** A stream that keeps what is written, as text. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Options of {@link courier}. */
export interface RunOptions {
  /** Piped on stdin (default: an empty pipe). */
  stdin?: string;
  /** Pretend stdin is a terminal. */
  tty?: boolean;
  env?: Record<string, string | undefined>;
  /** Stops long-running commands, as Ctrl-C does. */
  signal?: AbortSignal;
  /** Called with stderr's text as it grows (to wait for "listening"). */
  onStderr?: (text: string) => void;
}

/** Runs `courier ...argv` in this process with captured streams. */
export async function courier(argv: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  const stdout = sink();
  const stderr = sink();
  if (options.onStderr) {
    const watch = options.onStderr;
    stderr.stream.on('data', () => watch(stderr.text()));
  }
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]) as CliInput;
  if (options.tty) stdin.isTTY = true;
  const io: CliIo = {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin,
    env: options.env ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const code = await run(argv, io);
  // Let the pass-throughs hand over what was written in the last turn.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A broker for one test file. */
export interface TestBroker {
  server: BrokerServer;
  admin: HttpAdmin;
  /** courier://127.0.0.1:PORT */
  url: string;
  /** http://127.0.0.1:PORT */
  adminUrl: string;
  /** --url for this broker (and --token when it has one): for pub, sub, req, dlq, bench. */
  bus: string[];
  /** --admin for this broker (and --token when it has one): for streams, groups, services. */
  adminFlags: string[];
  close(): Promise<void>;
}

/** Starts a broker and its admin API on free ports, in a fresh temp directory. */
export async function testBroker(options: { tokens?: string[] } = {}): Promise<TestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'courier-cli-'));
  const server = await startBroker({ dir, port: 0, sync: 'none', tokens: options.tokens ?? [] });
  const admin = await startHttpAdmin({
    engine: server.engine,
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    tokens: options.tokens ?? [],
  });
  const url = `courier://127.0.0.1:${server.port}`;
  const adminUrl = `http://127.0.0.1:${admin.port}`;
  const token = options.tokens?.[0];
  return {
    server,
    admin,
    url,
    adminUrl,
    bus: ['--url', url, ...(token !== undefined ? ['--token', token] : [])],
    adminFlags: ['--admin', adminUrl, ...(token !== undefined ? ['--token', token] : [])],
    close: async () => {
      await admin.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
