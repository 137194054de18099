/**
 * Tests on the machine's NATS server (nats://127.0.0.1:4222, or
 * COURIER_NATS_URL): each file uses its own stream and prefix, connects
 * every transport through its own TCP proxy so that a test can cut one
 * connection, and removes its streams afterwards.
 */
import { type NatsTransport, type NatsTransportOptions, natsTransport } from '@courier/nats';
import { startTcpProxy, type TcpProxy, uniqueName } from '@courier/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The shared server's address. */
export const SHARED_URL = new URL(process.env['COURIER_NATS_URL'] ?? 'nats://127.0.0.1:4222');

/** A deployment (stream and prefix) of its own on a server, with a proxy per connection. */
export class TestDeployment {
  readonly stream: string;
  readonly prefix: string;
  readonly #port: number;
  readonly #host: string;
  readonly #proxies = new Map<NatsTransport, TcpProxy>();

  constructor(
    target: { host?: string; port: number } = {
      host: SHARED_URL.hostname,
      port: Number(SHARED_URL.port || 4222),
    },
  ) {
    const name = uniqueName('ct');
    this.stream = name.toUpperCase();
    this.prefix = name;
    this.#port = target.port;
    this.#host = target.host ?? '127.0.0.1';
  }

  /** The options that point a transport at this deployment. */
  options(servers: string): NatsTransportOptions {
    return { servers, stream: this.stream, prefix: this.prefix };
  }

  /** A new transport, connected through a proxy of its own. */
  async transport(options: Partial<NatsTransportOptions> = {}): Promise<NatsTransport> {
    const proxy = await startTcpProxy({ host: this.#host, port: this.#port });
    const transport = await natsTransport({ ...this.options(`nats://127.0.0.1:${proxy.port}`), ...options });
    this.#proxies.set(transport, proxy);
    return transport;
  }

  /** The proxy of a transport. */
  proxy(transport: NatsTransport): TcpProxy {
    const proxy = this.#proxies.get(transport);
    if (!proxy) throw new Error('this transport was not made by this deployment');
    return proxy;
  }

  /** Cuts a transport's connection for good, as a crashed process's would be. */
  async kill(transport: NatsTransport): Promise<void> {
    await this.proxy(transport).close();
  }

  /** Closes the proxies and deletes the deployment's streams. */
  async remove(): Promise<void> {
    await Promise.all([...this.#proxies.values()].map((proxy) => proxy.close()));
    this.#proxies.clear();
    const nc = await connect({ servers: `nats://${this.#host}:${this.#port}` });
    try {
      const jsm = await jetstreamManager(nc);
      for (const suffix of ['', '_DLQ', '_REPLAY'])
        await jsm.streams.delete(`${this.stream}${suffix}`).catch(() => false);
    } finally {
      await nc.close();
    }
  }
}
