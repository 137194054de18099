/**
 * Test helpers that drive the shop as a user does: start it (`npm start`, or
 * the launcher alone once built), read its output line by line, type
 * commands into it, place orders over HTTP, run the `courier` CLI, and stop
 * it with SIGINT, checking that no process it started is left.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { eventually } from '@courier/testkit';

const execFileAsync = promisify(execFile);

/** The repository's root, where a newcomer runs `npm start`. */
export const ROOT = new URL('../../../', import.meta.url).pathname;

/** Every process under `root`, from /proc (Linux). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name is in parentheses and may hold spaces; the parent pid is the second field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The command line of a process, or undefined when it is gone. */
export function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** Whether a process still runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A running shop, started as a user starts it. */
export class ShopRun {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters = new Set<() => void>();
  readonly #seen = new Set<number>();

  /** Starts `command args` in the repository's root with extra environment variables. */
  constructor(command: string, args: string[], env: Record<string, string>) {
    this.#child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, as a terminal gives it; cleanup can then reach everything.
      detached: true,
    });
    let partial = '';
    const onData = (chunk: Buffer): void => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.lines.push(line);
      for (const wake of this.#waiters) wake();
    };
    this.#child.stdout?.on('data', onData);
    this.#child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        for (const wake of this.#waiters) wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** The number of lines so far: a starting point for {@link waitForLine}. */
  mark(): number {
    return this.lines.length;
  }

  /** Waits for an output line matching `pattern` at or after line `from`; fails if the shop exits first. */
  waitForLine(
    pattern: RegExp,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<RegExpMatchArray> {
    let index = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (; index < this.lines.length; index++) {
          const match = (this.lines[index] as string).match(pattern);
          if (match) {
            done(() => resolve(match));
            return;
          }
        }
        if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          done(() => reject(new Error(`the shop exited before printing ${pattern}:\n${this.tail()}`)));
        }
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${this.tail()}`)),
          ),
        timeoutMs,
      );
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The last lines of output, for failure messages. */
  tail(count = 60): string {
    return this.lines.slice(-count).join('\n');
  }

  /** Types a command into the launcher. */
  type(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
  }

  /** Records every process the shop runs now, so that {@link stop} can check they are all gone. */
  track(): number[] {
    const pids = descendants(this.pid);
    for (const pid of pids) this.#seen.add(pid);
    return pids;
  }

  /**
   * Sends SIGINT to the launcher (as Ctrl-C does; npm itself would die of
   * the signal rather than report the launcher's exit code) and waits for
   * the whole tree to exit.
   */
  async interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null; leftovers: number[] }> {
    this.track();
    // The node process running the launcher, not the shell npm runs it in.
    const launcher = [this.pid, ...this.#seen].find((pid) => {
      const [program, script] = commandLine(pid) ?? [];
      return program?.includes('node') === true && script?.endsWith('examples/shop/start.mjs') === true;
    });
    if (launcher === undefined) throw new Error(`no launcher process under ${this.pid}:\n${this.tail()}`);
    process.kill(launcher, 'SIGINT');
    const exit = await this.exited;
    const leftovers = await eventually(
      async () => {
        const left = [...this.#seen].filter(alive);
        return left.length === 0 ? left : undefined;
      },
      'the processes of the shop to exit',
      10_000,
    ).catch(() => [...this.#seen].filter(alive));
    return { ...exit, leftovers };
  }

  /** Kills whatever is left (after a failed test). */
  kill(): void {
    this.track();
    for (const pid of [this.pid, ...this.#seen]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** An HTTP call to the orders API: the status and the JSON body. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    ...(init.body !== undefined
      ? { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }
      : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Runs the built `courier` CLI; resolves with its exit code and output. */
export async function courierCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['packages/cli/bin/courier.js', ...args],
      {
        cwd: ROOT,
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}
