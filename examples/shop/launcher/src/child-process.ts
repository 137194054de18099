/**
 * One process the launcher runs: a shop service or the broker. It runs in a
 * process group of its own (so that Ctrl-C reaches the launcher only, which
 * then stops everything in order) with an IPC channel (so that it exits by
 * itself when the launcher dies), and its output comes out line by line,
 * prefixed with its name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether the launcher asked it to stop. */
  requested: boolean;
}

/** Options of {@link ShopChild}. */
export interface ShopChildOptions {
  /** The name its output lines are prefixed with, and commands use. */
  name: string;
  /** The script to run with this Node.js binary. */
  script: string;
  args?: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Writes one line of the child's output (already prefixed). */
  print(line: string): void;
  /** Turns a raw output line into what is printed (the broker's JSON logs, for one). */
  format?: (line: string) => string;
  /** Called once when it exits. */
  onExit(exit: ChildExit): void;
}

/** A running child process. */
export class ShopChild {
  readonly name: string;
  readonly #process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  readonly #ready: Promise<void>;
  readonly #print: (line: string) => void;
  #requested = false;

  constructor(options: ShopChildOptions) {
    this.name = options.name;
    this.#print = options.print;
    this.#process = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const format = options.format ?? ((line: string) => line);
    for (const stream of [this.#process.stdout, this.#process.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        options.print(format(line)),
      );
    }
    this.exited = new Promise((resolve) => {
      this.#process.once('exit', (code, signal) => {
        const exit = { code, signal, requested: this.#requested };
        options.onExit(exit);
        resolve(exit);
      });
      this.#process.once('error', (error) => {
        options.print(`cannot start: ${error.message}`);
      });
    });
    this.#ready = new Promise((resolve, reject) => {
      this.#process.on('message', (message) => {
        if ((message as { ready?: unknown }).ready === true) resolve();
      });
      void this.exited.then((exit) =>
        reject(
          new Error(`${this.name} exited (${describeExit(exit)}) before it was ready; its output is above`),
        ),
      );
    });
    this.#ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Whether it is still running. */
  get running(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Resolves when the child says it is ready (an IPC message `{ ready: true }`); rejects if it exits first. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Asks it to stop (SIGTERM: a service drains its bus, the broker confirms
   * what it accepted) and waits; after `timeoutMs` it is killed.
   */
  async stop(timeoutMs = 20_000): Promise<ChildExit> {
    this.#requested = true;
    if (!this.running) return this.exited;
    this.#process.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.#print(`did not stop within ${timeoutMs} ms; killing it`);
      this.#process.kill('SIGKILL');
    }, timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Kills it at once (a second Ctrl-C). */
  kill(): void {
    this.#requested = true;
    if (this.running) this.#process.kill('SIGKILL');
  }
}

/** `exit code 1`, `signal SIGKILL`. */
export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}
