/**
 * The `courier://` protocol over WebSocket, for browsers: on any Node HTTP
 * server (the broker's admin port by default), upgrades to `path`
 * (`/courier`) become broker connections. Each binary WebSocket message
 * carries bytes of the same frame stream as TCP (docs/protocol.md,
 * WebSocket); a text message is a `PROTOCOL_ERROR`.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CourierError } from '@courier/core';
import { WebSocketServer } from 'ws';
import { textMessageError, webSocketStream } from '../protocol/websocket-stream.js';
import type { ConnectionPeer, ServerConnection } from './server-connection.js';

/** Options of {@link attachWebSocket}. */
export interface WebSocketEndpointOptions {
  /** The URL path to upgrade. Default `/courier`. */
  path?: string;
}

/** The broker side that turns a stream into a connection (the broker server's). */
export interface ConnectionAcceptor {
  accept(stream: Duplex, peer: ConnectionPeer): ServerConnection;
  /** Largest frame accepted; a WebSocket message may be at most this plus its length prefix. */
  readonly maxFrame: number;
}

/** A WebSocket endpoint attached to an HTTP server. */
export interface WebSocketEndpoint {
  readonly path: string;
  /** Stops upgrading and closes the endpoint's WebSockets; the HTTP server keeps running. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The broker's endpoints on each server, by path: one `upgrade` listener serves them all. */
const endpoints = new WeakMap<Server, { paths: Map<string, Upgrade>; listener: Upgrade }>();

type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Answers `status` and closes the socket once the answer is flushed (or at once when the peer is gone). */
function refuse(socket: Duplex, status: string, why: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n${why}\n`, () =>
    socket.destroy(),
  );
}

/** The one `upgrade` listener of a server: routes by path to the broker's endpoints. */
function upgradeListener(server: Server, paths: Map<string, Upgrade>): Upgrade {
  return (req, socket, head) => {
    // Node takes its error listener off an upgraded socket: without this, a peer's reset
    // (ECONNRESET on the next write) is an uncaught exception that stops the broker.
    socket.on('error', () => socket.destroy());
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const handle = paths.get(pathname);
    if (handle) return handle(req, socket, head);
    // Another library's listener may own this path; when there is none, nobody will claim the socket.
    if (server.listenerCount('upgrade') > 1) return;
    refuse(
      socket,
      '404 Not Found',
      `no WebSocket endpoint at ${pathname}; the broker's is ${[...paths.keys()].join(', ')}`,
    );
  };
}

/** Serves broker connections on `server` at `options.path` (default `/courier`). */
export function attachWebSocket(
  server: Server,
  acceptor: ConnectionAcceptor,
  options: WebSocketEndpointOptions = {},
): WebSocketEndpoint {
  const path = options.path ?? '/courier';
  let shared = endpoints.get(server);
  if (shared?.paths.has(path))
    throw new CourierError(
      'INVALID_OPTION',
      `a WebSocket endpoint is already attached at ${path} on this server; close it first or pick another path`,
    );
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: acceptor.maxFrame + 4,
    perMessageDeflate: false,
  });
  const onUpgrade: Upgrade = (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      let connection: ServerConnection | undefined;
      const stream = webSocketStream(ws, { onText: () => connection?.end(textMessageError()) });
      const address = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      connection = acceptor.accept(stream, { address });
    });
  };
  if (!shared) {
    const paths = new Map<string, Upgrade>();
    shared = { paths, listener: upgradeListener(server, paths) };
    endpoints.set(server, shared);
    server.on('upgrade', shared.listener);
  }
  shared.paths.set(path, onUpgrade);
  const mine = shared;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      if (mine.paths.get(path) === onUpgrade) mine.paths.delete(path);
      if (mine.paths.size === 0 && endpoints.get(server) === mine) {
        server.off('upgrade', mine.listener);
        endpoints.delete(server);
      }
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    });
    return closing;
  };
  return { path, close, [Symbol.asyncDispose]: close };
}
