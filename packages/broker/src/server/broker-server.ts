/**
 * The broker as a server: its engine, and the `courier://` protocol on TCP
 * (or TLS, `couriers://`), and over WebSocket on any HTTP server it is
 * attached to. `startBroker` opens the data directory, recovers it, and
 * listens.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { BrokerEngine, type BrokerEngineOptions } from '../engine/broker-engine.js';
import { authorizer, type TokenGrant } from './permissions.js';
import { type ConnectionPeer, ServerConnection } from './server-connection.js';
import {
  attachWebSocket,
  type ConnectionAcceptor,
  type WebSocketEndpoint,
  type WebSocketEndpointOptions,
} from './websocket-endpoint.js';

/** The broker's TLS identity (PEM), as `node:tls` takes it. */
export interface BrokerTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** CAs to trust for client certificates. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Ask clients for a certificate (and refuse those `ca` does not sign). Default false. */
  requestCert?: boolean;
}

/** Options of {@link startBroker}. */
export interface BrokerServerOptions extends BrokerEngineOptions {
  /** TCP port; 0 picks a free one. Default 4270. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1; use 0.0.0.0 to accept other machines. */
  host?: string;
  /** Serve the protocol over TLS only (`couriers://`). */
  tls?: BrokerTlsOptions;
  /**
   * Accepted tokens, each a string (every right) or a grant with `publish` and `subscribe` patterns.
   * Without any, the broker takes every connection.
   */
  tokens?: readonly (string | TokenGrant)[];
  /** Largest frame accepted, in bytes. Default 16 MiB. */
  maxFrame?: number;
  /** Unconfirmed publishes per connection before it stops reading from it. Default 10,000. */
  maxUnconfirmed?: number;
  /** Bytes of unconfirmed publishes per connection before it stops reading from it. Default 8 MiB. */
  maxUnconfirmedBytes?: number;
  /**
   * Also serve the protocol over WebSocket on a port of its own (0 picks a
   * free one), at `path` (default `/courier`). The usual place is the admin
   * HTTP port instead: `broker.attachWebSocket(admin.server)`.
   */
  websocket?: { port: number; path?: string };
}

/** What the broker's connections hold in memory, for tests and metrics. */
export interface BrokerStats {
  /** Open connections (TCP, TLS and WebSocket). */
  connections: number;
  /** Bytes all connections buffer now: partial frames, unconfirmed publishes, unsent output. */
  bufferedBytes: number;
  /** The most any one connection has buffered, since the broker started. */
  peakConnectionBytes: number;
  /** Times a connection stopped reading for backpressure, since the broker started. */
  pauses: number;
}

/** A running broker. */
export interface BrokerServer {
  readonly engine: BrokerEngine;
  readonly host: string;
  readonly port: number;
  /** The URL clients connect to (`couriers://` with TLS). */
  readonly url: string;
  /** With the `websocket` option: the `courier+ws://` URL of its own WebSocket port. */
  readonly websocketUrl: string | undefined;
  /**
   * Serves the protocol over WebSocket on an HTTP server (the admin server,
   * or your own) at `options.path`, default `/courier`. Closed with the broker.
   */
  attachWebSocket(server: HttpServer, options?: WebSocketEndpointOptions): WebSocketEndpoint;
  /** What the connections buffer. */
  stats(): BrokerStats;
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
    maxUnconfirmedBytes: options.maxUnconfirmedBytes ?? 8 * 1024 * 1024,
    authenticate: authorizer(options.tokens ?? []),
  };
  const streams = new Set<Duplex>();
  const gone = { peak: 0, pauses: 0 };
  const acceptor = {
    maxFrame: context.maxFrame,
    accept(stream: Duplex, peer: ConnectionPeer): ServerConnection {
      streams.add(stream);
      const connection = new ServerConnection({ stream, peer, context });
      connections.add(connection);
      stream.on('close', () => {
        const stats = connection.stats();
        gone.peak = Math.max(gone.peak, stats.peakBufferedBytes);
        gone.pauses += stats.pauses;
        streams.delete(stream);
        connections.delete(connection);
      });
      return connection;
    },
  };
  const onSocket = (socket: Socket): void => {
    socket.setNoDelay(true);
    acceptor.accept(socket, { address: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` });
  };
  const server: Server = options.tls
    ? createTlsServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.ca !== undefined
            ? { ca: options.tls.ca as string | Buffer | (string | Buffer)[] }
            : {}),
          requestCert: options.tls.requestCert ?? false,
        },
        onSocket,
      )
    : createServer(onSocket);
  // A client that fails the TLS handshake (a plain-TCP client, a bad certificate) only loses its own socket.
  server.on('tlsClientError', () => undefined);
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
  const endpoints = new Set<WebSocketEndpoint>();
  const own = options.websocket
    ? await listenWebSocket(host, options.websocket, acceptor, endpoints).catch(async (error: unknown) => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await engine.close();
        throw error;
      })
    : undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...endpoints].map((endpoint) => endpoint.close()));
      if (own) await new Promise<void>((resolve) => own.server.close(() => resolve()));
      for (const connection of connections) connection.end();
      for (const stream of streams) stream.destroy();
      await stopped;
      await engine.close();
    })();
    return closing;
  };
  const stats = (): BrokerStats => {
    let bufferedBytes = 0;
    let peak = gone.peak;
    let pauses = gone.pauses;
    for (const connection of connections) {
      const s = connection.stats();
      bufferedBytes += s.bufferedBytes;
      peak = Math.max(peak, s.peakBufferedBytes);
      pauses += s.pauses;
    }
    return { connections: connections.size, bufferedBytes, peakConnectionBytes: peak, pauses };
  };
  return {
    engine,
    host,
    port,
    url: `${options.tls ? 'couriers' : 'courier'}://${host}:${port}`,
    websocketUrl: own?.url,
    attachWebSocket: (http, endpointOptions) => {
      const endpoint = attachWebSocket(http, acceptor, endpointOptions);
      endpoints.add(endpoint);
      return endpoint;
    },
    stats,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The `websocket` option: an HTTP server of its own that only upgrades. */
async function listenWebSocket(
  host: string,
  options: { port: number; path?: string },
  acceptor: ConnectionAcceptor,
  endpoints: Set<WebSocketEndpoint>,
): Promise<{ server: HttpServer; url: string }> {
  const path = options.path ?? '/courier';
  const server = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end(`this port speaks the courier protocol over WebSocket at ${path}\n`);
  });
  endpoints.add(attachWebSocket(server, acceptor, { path }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { server, url: `courier+ws://${host}:${port}${path}` };
}
