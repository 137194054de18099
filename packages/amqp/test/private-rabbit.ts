/**
 * A private RabbitMQ node for the conformance suite: its own node name,
 * ports and data directory in a temp dir, so the suite can restart it (the
 * durability case) without touching the machine's shared broker on 5672.
 * The restart is RabbitMQ's own shutdown (SIGTERM): RabbitMQ 3.10 writes
 * queue declarations to Mnesia lazily, and a kill -9 within seconds of
 * declaring a queue loses the queue itself (messages and all), whatever
 * the client does; see docs/engines/rabbitmq.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, uniqueName } from '@courier/testkit';
import amqp from 'amqplib';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** A RabbitMQ node this test run owns. */
export class PrivateRabbit {
  readonly url: string;
  readonly #dir: string;
  readonly #env: NodeJS.ProcessEnv;
  #child: ChildProcess | undefined;

  private constructor(dir: string, port: number, env: NodeJS.ProcessEnv) {
    this.#dir = dir;
    this.#env = env;
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
  }

  /** Starts a node, or returns undefined when RabbitMQ is not installed here or does not come up within 60 s. */
  static async start(): Promise<PrivateRabbit | undefined> {
    if (!existsSync(SERVER)) return undefined;
    const dir = await mkdtemp(join(tmpdir(), 'courier-rabbit-'));
    const port = await freePort();
    const dist = await freePort();
    await writeFile(
      join(dir, 'rabbitmq.conf'),
      `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`,
    );
    await writeFile(join(dir, 'enabled_plugins'), '[].\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: dir, // its own Erlang cookie, not root's
      RABBITMQ_NODENAME: `${uniqueName('courier')}@localhost`,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(dist),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      // Exec the VM directly, so the child's pid is the broker's and SIGKILL is a real crash.
      RUNNING_UNDER_SYSTEMD: '1',
    };
    const node = new PrivateRabbit(dir, port, env);
    try {
      await node.#launch();
    } catch (error) {
      console.warn(`no private RabbitMQ node: ${String(error)}`);
      await node.stop();
      return undefined;
    }
    return node;
  }

  /** Stops the node (RabbitMQ's shutdown) and starts it again on the same data. */
  async restart(): Promise<void> {
    await this.#signal('SIGTERM');
    await this.#launch();
  }

  /** Kills the node and removes its data. */
  async stop(): Promise<void> {
    await this.#signal('SIGKILL');
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
  }

  async #launch(): Promise<void> {
    const child = spawn(SERVER, [], { env: this.#env, stdio: 'ignore' });
    this.#child = child;
    // Never outlive the test process, even when a hung test keeps afterAll from running.
    const orphan = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', orphan);
    child.once('exit', () => process.off('exit', orphan));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`rabbitmq-server exited with ${child.exitCode}`);
      try {
        const connection = await amqp.connect(this.url);
        await connection.close();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
}
