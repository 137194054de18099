/**
 * How a client reaches the broker: TCP (`courier://`), TLS (`couriers://`)
 * or a WebSocket (`courier+ws://`, `courier+wss://`). Each gives a Duplex of
 * the protocol's bytes and says when it is open, so the client connection
 * above is the same for all.
 */
import { isIP, connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';
import { webSocketStream } from '../protocol/websocket-stream.js';

/** TLS options of a client (`couriers://`, `courier+wss://`). */
export interface ClientTlsOptions {
  /** CAs to trust (PEM), for a broker whose certificate a public CA did not sign. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Refuse a certificate that does not verify. Default true; false only for tests. */
  rejectUnauthorized?: boolean;
  /** The name to check the certificate against. Default the host, when it is not an IP address. */
  servername?: string;
  /** A client certificate and its key (PEM), for a broker that requests one. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** Where the broker is and how to speak to it. */
export interface LinkTarget {
  host: string;
  port: number;
  /** TLS on, with these options. */
  tls?: ClientTlsOptions;
  /** Over a WebSocket at this path (e.g. `/courier`) instead of raw TCP. */
  websocketPath?: string;
}

/** The URL of a target, for messages. */
export function targetUrl(target: LinkTarget): string {
  const scheme =
    target.websocketPath !== undefined
      ? target.tls
        ? 'courier+wss'
        : 'courier+ws'
      : target.tls
        ? 'couriers'
        : 'courier';
  return `${scheme}://${target.host}:${target.port}${target.websocketPath ?? ''}`;
}

function tlsOptions(target: LinkTarget, tls: ClientTlsOptions): Record<string, unknown> {
  const servername = tls.servername ?? (isIP(target.host) === 0 ? target.host : undefined);
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(servername !== undefined ? { servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

/** Opens a link; `onOpen` runs once it may carry frames. Errors and the end come as the Duplex's events. */
export function dial(target: LinkTarget, onOpen: () => void): Duplex {
  if (target.websocketPath !== undefined) {
    const url = `${target.tls ? 'wss' : 'ws'}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.websocketPath}`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      ...(target.tls ? tlsOptions(target, target.tls) : {}),
    });
    ws.once('open', onOpen);
    return webSocketStream(ws);
  }
  if (target.tls) {
    const socket = tlsConnect({ host: target.host, port: target.port, ...tlsOptions(target, target.tls) });
    socket.once('secureConnect', onOpen);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    return socket;
  }
  const socket = tcpConnect({ host: target.host, port: target.port });
  socket.once('connect', onOpen);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 10_000);
  return socket;
}
