/**
 * The real `courier` executable (bin/courier.js over dist/, built by
 * `npx tsc -b packages/cli`), spawned as a shell would: exit codes, stdin
 * pipes, Ctrl-C, and no hang when the broker is down.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '@courier/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis } from '../../redis/test/redis-server.js';
import { type TestBroker, testBroker } from './cli-harness.js';

const bin = fileURLToPath(new URL('../bin/courier.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  exit: Promise<Exit>;
  /** Resolves once `stream` has printed `text` (now or earlier); rejects if the process exits first. */
  printed(stream: 'stdout' | 'stderr', text: string): Promise<void>;
}

/** Children still running when a test fails are killed, not left behind. */
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

function start(argv: string[], env: Record<string, string> = {}): Running {
  // COURIER_* from the developer's shell must not leak into the test.
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('COURIER_')),
  );
  const child = spawn(process.execPath, [bin, ...argv], { env: { ...clean, ...env }, stdio: 'pipe' });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const output = { stdout: '', stderr: '' };
  const watchers = new Set<() => void>();
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]?.on('data', (chunk: Buffer) => {
      output[name] += chunk.toString('utf8');
      for (const watch of [...watchers]) watch();
    });
  }
  const exit = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, ...output })),
  );
  const printed = (stream: 'stdout' | 'stderr', text: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!output[stream].includes(text)) return;
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
      check();
      void exit.then((out) => reject(new Error(`exited before printing ${text}: ${out.stderr}`)));
    });
  return { child, exit, printed };
}

function courierProcess(argv: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  const { child, exit } = start(argv, options.env);
  child.stdin?.end(options.stdin ?? '');
  return exit;
}

beforeAll(() => {
  if (!existsSync(built)) throw new Error(`${built} is missing; run npx tsc -b packages/cli first`);
});

describe('the courier executable', () => {
  it('--help lists every command, one line each, and exits 0', async () => {
    const out = await courierProcess(['--help']);
    expect(out.code).toBe(0);
    for (const command of ['broker', 'pub', 'sub', 'req', 'streams', 'groups', 'services', 'dlq', 'bench']) {
      expect(out.stdout).toMatch(new RegExp(`\\n  ${command} `));
    }
  });

  it('exits 2 on an unknown command and on a malformed subject', async () => {
    const unknown = await courierProcess(['subscribe', 'a.b']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'subscribe'");
    const subject = await courierProcess(['pub', 'a..b', 'x']);
    expect(subject.code).toBe(2);
    expect(subject.stderr).toContain('invalid subject "a..b"');
  });

  it('exits 1 with the URL when nothing listens there, instead of hanging', async () => {
    const url = `courier://127.0.0.1:${await freePort()}`;
    const out = await courierProcess(['sub', 'a.b', '--connect-timeout', '3s'], {
      env: { COURIER_URL: url },
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(url);
    expect(out.stderr).toContain('courier broker');
  });
});

describe('the courier executable against a broker', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await testBroker({ tokens: ['t0ken'] });
  });
  afterAll(async () => broker.close());

  it('pub reads piped stdin; sub prints it, and stops on SIGINT with exit 0', async () => {
    const env = { COURIER_URL: broker.url, COURIER_TOKEN: 't0ken' };
    const sub = start(['sub', 'pipes.>', '--json'], env);
    await sub.printed('stderr', 'listening on');
    const pub = await courierProcess(['pub', 'pipes.in'], { stdin: '{"from":"a pipe"}\n', env });
    expect(pub.code, pub.stderr).toBe(0);
    await sub.printed('stdout', pub.stdout.trim());
    sub.child.kill('SIGINT');
    const out = await sub.exit;
    expect(out.code).toBe(0);
    const line = JSON.parse(out.stdout.trim()) as { id: string; subject: string; data: unknown };
    expect(line).toMatchObject({ id: pub.stdout.trim(), subject: 'pipes.in', data: { from: 'a pipe' } });
  });

  it('sub on redis:// reports a lost server in one line on stderr, no stack trace, and still stops on SIGINT', async () => {
    const redis = await startPrivateRedis();
    try {
      const sub = start(['sub', 'lost.>', '--url', redis.url]);
      await sub.printed('stderr', 'listening on');
      await redis.close(); // the server dies under the listening sub; ioredis keeps retrying
      await sub.printed('stderr', 'courier: lost the connection to Redis');
      sub.child.kill('SIGINT');
      const out = await sub.exit;
      expect(out.code).toBe(0);
      const warning = out.stderr.split('\n').find((line) => line.startsWith('courier: '));
      expect(warning).toMatch(
        /^courier: lost the connection to Redis \((read ECONNRESET|connect ECONNREFUSED .*)\).*\[CONNECTION_CLOSED\]$/,
      );
      expect(out.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await redis.close();
    }
  });

  it('exits 1 naming the token flag when the token is wrong', async () => {
    const out = await courierProcess(['pub', 'a.b', '1', '--url', broker.url, '--token', 'nope']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('--token or COURIER_TOKEN');
  });
});
