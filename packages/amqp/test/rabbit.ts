/**
 * Test helpers for the RabbitMQ transport: the shared local broker's URL, a
 * namespace unique to each test file, transports through a TCP proxy each
 * (so one connection can be cut), a server-side connection kill through
 * `rabbitmqctl`, and cleanup of everything a namespace declared.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTcpProxy, type TcpProxy, uniqueName } from '@courier/testkit';
import amqp from 'amqplib';
import { AmqpTransport, type AmqpTransportOptions } from '../src/index.js';

const run = promisify(execFile);

/** The broker the tests use: COURIER_AMQP_URL, or the local RabbitMQ with guest/guest. */
export const RABBIT_URL = process.env['COURIER_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A namespace unique to this run: every exchange and queue of the tests starts with it. */
export function testNamespace(label: string): string {
  return `courier-test.${label}.${uniqueName('')}`;
}

/** Transports that each connect through their own proxy, so `kill` drops exactly one. */
export class ProxiedTransports {
  readonly #proxies = new Map<AmqpTransport, TcpProxy>();
  readonly #options: AmqpTransportOptions;
  readonly #url: string;

  constructor(options: AmqpTransportOptions, url: string = RABBIT_URL) {
    this.#options = options;
    this.#url = url;
  }

  async open(options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
    const target = new URL(this.#url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
    const url = new URL(this.#url);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const transport = await AmqpTransport.connect(url, { ...this.#options, ...options });
    this.#proxies.set(transport, proxy);
    return transport;
  }

  /** Cuts the transport's connection and refuses its reconnects, as a crashed process would be gone. */
  async kill(transport: AmqpTransport): Promise<void> {
    await this.#proxies.get(transport)?.close();
  }

  /** Closes every transport (for an engine restart: connections made before are dead afterwards). */
  async closeAll(): Promise<void> {
    for (const transport of this.#proxies.keys()) await transport.close().catch(() => undefined);
    await this.close();
  }

  async close(): Promise<void> {
    for (const proxy of this.#proxies.values()) await proxy.close().catch(() => undefined);
    this.#proxies.clear();
  }
}

/** Closes, from RabbitMQ's side, every connection whose client named itself `name`. Returns how many. */
export async function closeConnectionsNamed(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', [
    'list_connections',
    '-q',
    '--no-table-headers',
    'pid',
    'client_properties',
  ]);
  let closed = 0;
  for (const line of stdout.split('\n')) {
    if (!line.includes(`"${name}"`)) continue;
    const pid = line.split('\t')[0]?.trim();
    if (!pid) continue;
    await run('rabbitmqctl', ['close_connection', pid, 'courier connection-loss test']);
    closed++;
  }
  return closed;
}

/** Whether `rabbitmqctl` can talk to the broker from here (it needs the node's Erlang cookie). */
export async function hasRabbitmqctl(): Promise<boolean> {
  try {
    await run('rabbitmqctl', ['-q', 'ping']);
    return true;
  } catch {
    return false;
  }
}

/** Deletes every queue and exchange of a namespace (queues are found with `rabbitmqctl`, when it is available). */
export async function removeNamespace(namespace: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name']).catch(
    (error: unknown) => {
      console.warn(`cannot list queues to remove namespace ${namespace}: ${String(error)}`);
      return { stdout: '' };
    },
  );
  const queues = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(`${namespace}.`) || name === namespace);
  const connection = await amqp.connect(RABBIT_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of [namespace, `${namespace}.rpc`, `${namespace}.wait`])
      await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}
