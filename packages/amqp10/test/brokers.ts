/**
 * Test brokers: a private Qpid Proton example broker per test file on a
 * free port (built by ci/setup.sh), RabbitMQ's AMQP 1.0 plugin on the
 * machine's shared RabbitMQ (5672, never restarted here), and per-connection
 * TCP proxies so a test can drop one connection as a crash would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Transport } from '@courier/core';
import { freePort, startTcpProxy, type TcpProxy, uniqueName } from '@courier/testkit';
import amqplib from 'amqplib';
import { type Amqp10Transport, type Amqp10TransportOptions, amqp10Transport } from '../src/index.js';

export const PROTON_BROKER = process.env['COURIER_PROTON_BROKER'] ?? '/tmp/courier-amqp10/proton-broker';
export const RABBITMQ = { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' };

/** A running Proton example broker. */
export interface ProtonBroker {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the Proton example broker on a free port and waits until it listens. */
export async function startProtonBroker(): Promise<ProtonBroker> {
  if (!existsSync(PROTON_BROKER)) {
    throw new Error(
      `${PROTON_BROKER} is missing; run packages/amqp10/ci/setup.sh to build Qpid Proton's example broker`,
    );
  }
  const port = await freePort();
  const child: ChildProcess = spawn(PROTON_BROKER, ['127.0.0.1', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`the Proton broker did not listen on ${port}: ${out}`)),
      5000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Proton broker exited with ${code}: ${out}`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  // Never outlive the test process, even when a test times out before afterAll.
  const orphanGuard = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', orphanGuard);
  return {
    port,
    stop: async () => {
      process.off('exit', orphanGuard);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A factory of transports, each through its own proxy so that `kill` drops just that one. */
export interface ProxiedFactory {
  factory(): Promise<Transport>;
  kill(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

/** Transports to `port` through per-transport TCP proxies. */
export function proxiedFactory(
  port: number,
  options: Amqp10TransportOptions,
): ProxiedFactory & {
  proxy(transport: Transport): TcpProxy | undefined;
} {
  const proxies = new Map<Transport, TcpProxy>();
  return {
    async factory() {
      const proxy = await startTcpProxy({ port });
      const transport = await amqp10Transport({ ...options, port: proxy.port });
      proxies.set(transport, proxy);
      return transport;
    },
    async kill(transport) {
      // No goodbye and no way back: the member is gone as a crashed process would be.
      (transport as Amqp10Transport).kill();
      await proxies.get(transport)?.close();
    },
    async close() {
      await Promise.all([...proxies.values()].map((p) => p.close()));
      proxies.clear();
    },
    proxy: (transport) => proxies.get(transport),
  };
}

/** Options for a RabbitMQ test run whose queues and exchange have names of their own. */
export function rabbitmqTestOptions(): Amqp10TransportOptions & { prefix: string; exchange: string } {
  const run = uniqueName('courier-t');
  return { ...RABBITMQ, broker: 'rabbitmq', prefix: run, exchange: `${run}.x` };
}

/** Deletes the queues and exchange of a RabbitMQ test run. */
export async function cleanRabbitmq(options: { prefix: string; exchange: string }): Promise<void> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', [
    'list_queues',
    '-q',
    '--no-table-headers',
    'name',
  ]);
  const names = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(`${options.prefix}.`));
  const connection = await amqplib.connect(`amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`);
  try {
    const channel = await connection.createChannel();
    for (const name of names) await channel.deleteQueue(name);
    await channel.deleteExchange(options.exchange);
  } finally {
    await connection.close();
  }
}

export type { Amqp10Transport };
