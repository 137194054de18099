/**
 * The broker as a server: its engine, and the `courier://` protocol on TCP.
 * `startBroker` opens the data directory, recovers it, and listens.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { BrokerEngine, type BrokerEngineOptions } from '../engine/broker-engine.js';
import { authorizer, type TokenGrant } from './permissions.js';
import { ServerConnection } from './server-connection.js';

/** Options of {@link startBroker}. */
export interface BrokerServerOptions extends BrokerEngineOptions {
  /** TCP port; 0 picks a free one. Default 4270. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1; use 0.0.0.0 to accept other machines. */
  host?: string;
  /**
   * Accepted tokens, each a string (every right) or a grant with `publish` and `subscribe` patterns.
   * Without any, the broker takes every connection.
   */
  tokens?: readonly (string | TokenGrant)[];
  /** Largest frame accepted, in bytes. Default 16 MiB. */
  maxFrame?: number;
  /** Unconfirmed publishes per connection before it stops reading from it. Default 10,000. */
  maxUnconfirmed?: number;
}

/** A running broker. */
export interface BrokerServer {
  readonly engine: BrokerEngine;
  readonly host: string;
  readonly port: number;
  /** The URL clients connect to. */
  readonly url: string;
  /** Stops listening, ends every connection and closes the engine; what was confirmed is on disk. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Opens the data directory and starts listening. */
export async function startBroker(options: BrokerServerOptions): Promise<BrokerServer> {
  const engine = await BrokerEngine.open(options);
  const connections = new Set<ServerConnection>();
  const context = {
    engine,
    serverId: randomUUID(),
    maxFrame: options.maxFrame ?? 16 * 1024 * 1024,
    heartbeat: 10_000,
    maxUnconfirmed: options.maxUnconfirmed ?? 10_000,
    authenticate: authorizer(options.tokens ?? []),
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const connection = new ServerConnection(socket, context);
    connections.add(connection);
    socket.on('close', () => {
      sockets.delete(socket);
      connections.delete(connection);
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4270, host, () => resolve());
  }).catch(async (error: unknown) => {
    await engine.close();
    throw error;
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 4270);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.end();
      for (const socket of sockets) socket.destroy();
      await stopped;
      await engine.close();
    })();
    return closing;
  };
  return { engine, host, port, url: `courier://${host}:${port}`, close, [Symbol.asyncDispose]: close };
}
