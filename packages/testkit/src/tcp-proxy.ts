/**
 * A TCP proxy on loopback for fault tests: clients connect to the proxy,
 * which forwards to the real server, and the test can cut every connection
 * at once, as a server that drops its clients would.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** The port clients connect to, on 127.0.0.1. */
  readonly port: number;
  /** How many client connections are open through the proxy. */
  readonly connections: number;
  /** Destroys every open connection (both sides); new connections are still accepted. */
  dropAll(): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a proxy from a free loopback port to `target`. */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair = [client, upstream];
    for (const socket of pair) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        for (const other of pair) other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy did not get a TCP port');
  const close = async (): Promise<void> => {
    for (const socket of open) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port: address.port,
    get connections() {
      return Math.floor(open.size / 2);
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
