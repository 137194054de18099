/**
 * The client side of one broker link (TCP, TLS or WebSocket, see
 * `link-dialer.ts`): the stream, the HELLO/WELCOME
 * handshake, frames in and out, and reconnection with backoff when the link
 * drops. What to restore after a reconnect (subscriptions, responders,
 * unconfirmed publishes) is the transport's, through `onConnected`.
 */
import type { Duplex } from 'node:stream';
import { CourierError } from '@courier/core';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { FrameOutput } from '../protocol/frame-output.js';
import { type Frame, FrameType, PROTOCOL_VERSION } from '../protocol/frame-types.js';
import { dial, type LinkTarget, targetUrl } from './link-dialer.js';

/** What the broker told us in WELCOME. */
export interface Welcome {
  version: number;
  maxFrame: number;
  maxPayload: number;
  server: string;
}

/** Options of a client connection. */
export interface ClientConnectionOptions {
  target: LinkTarget;
  token: string;
  service: string;
  instance: string;
  /** The service's version, for the broker's registry; empty when unknown. */
  version: string;
  /** Every frame after WELCOME. */
  onFrame(frame: Frame): void;
  /** After each (re)connection, before anything else is sent. */
  onConnected(welcome: Welcome): void;
  /** When the link drops (a reconnect follows unless killed or closed). */
  onDisconnected(error: CourierError): void;
  /** When the link has room for more frames again after being congested. */
  onDrain(): void;
}

/** Bytes waiting to be sent above which the link is congested: producers wait for `onDrain`. */
const OUTPUT_LIMIT = 4 * 1024 * 1024;

const MAX_BACKOFF = 5000;

/** See the module comment. */
export class ClientConnection {
  readonly #o: ClientConnectionOptions;
  #socket: Duplex | undefined;
  #out: FrameOutput | undefined;
  #welcome: Welcome | undefined;
  #stopped = false;
  #attempt = 0;
  #epoch = 0;

  constructor(options: ClientConnectionOptions) {
    this.#o = options;
  }

  /** Increases with every new link; deliveries carry it, so stale tokens are never settled on a new link. */
  get epoch(): number {
    return this.#epoch;
  }

  /** True between WELCOME and the link dropping. */
  get connected(): boolean {
    return this.#welcome !== undefined;
  }

  /** True while more than the link's limit waits to be sent; `onDrain` follows. */
  get congested(): boolean {
    return this.#out?.congested ?? false;
  }

  /** Connects the first time; rejects when the broker cannot be reached or refuses us. */
  start(): Promise<Welcome> {
    return this.#link();
  }

  /** Queues a frame on the current link; false when there is none. */
  send(frame: Frame): boolean {
    if (!this.#welcome || !this.#out) return false;
    this.#out.send(frame);
    return true;
  }

  /** Drops the link for good, without a goodbye (as a crashed process would). */
  kill(): void {
    this.#stopped = true;
    this.#socket?.destroy();
  }

  /** Sends what is queued, then ends the link for good. */
  async close(): Promise<void> {
    this.#stopped = true;
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    this.#out?.flush();
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  #link(): Promise<Welcome> {
    return new Promise<Welcome>((resolve, reject) => {
      const where = targetUrl(this.#o.target);
      let opened = false;
      const socket = dial(this.#o.target, () => {
        opened = true;
        out.send({
          type: FrameType.HELLO,
          minVersion: PROTOCOL_VERSION.min,
          maxVersion: PROTOCOL_VERSION.max,
          token: this.#o.token,
          service: this.#o.service,
          instance: this.#o.instance,
          client: 'courier-node',
          version: this.#o.version,
        });
      });
      // A broker that never answers the handshake is as good as down.
      const handshake = setTimeout(() => {
        failure ??= new CourierError(
          'CONNECTION_CLOSED',
          `the broker at ${where} did not answer the handshake within 10 s; check the host, port and scheme`,
        );
        socket.destroy();
      }, 10_000);
      let heard = Date.now();
      let heartbeat: NodeJS.Timeout | undefined;
      const out = new FrameOutput(socket, {
        limit: OUTPUT_LIMIT,
        onDrain: () => {
          if (this.#welcome && this.#out === out) this.#o.onDrain();
        },
      });
      const decoder = new FrameDecoder({ maxFrame: 64 * 1024 * 1024 });
      let welcomed = false;
      let failure: CourierError | undefined;
      this.#socket = socket;
      this.#out = out;
      socket.on('data', (chunk: Buffer) => {
        heard = Date.now();
        let frames: Frame[];
        try {
          frames = decoder.push(chunk);
        } catch (error) {
          failure = error as CourierError;
          socket.destroy();
          return;
        }
        for (const frame of frames) {
          if (!welcomed) {
            if (frame.type === FrameType.WELCOME) {
              welcomed = true;
              this.#attempt = 0;
              this.#epoch++;
              this.#welcome = {
                version: frame.version,
                maxFrame: frame.maxFrame,
                maxPayload: frame.maxPayload,
                server: frame.server,
              };
              decoder.maxFrame = frame.maxFrame;
              clearTimeout(handshake);
              // Liveness is the link's: ping a quiet broker, and drop a link silent for three heartbeats
              // (the drop starts a reconnect).
              const every = Math.max(frame.heartbeat, 1000);
              heartbeat = setInterval(() => {
                const quiet = Date.now() - heard;
                if (quiet > 3 * every) socket.destroy();
                else if (quiet > every) out.send({ type: FrameType.PING, nonce: quiet >>> 0 });
              }, every);
              heartbeat.unref();
              this.#o.onConnected(this.#welcome);
              resolve(this.#welcome);
            } else if (frame.type === FrameType.ERROR) {
              failure = CourierError.fromWire(frame.error);
            }
            continue;
          }
          this.#o.onFrame(frame);
        }
      });
      socket.on('error', (error) => {
        const hint = this.#o.target.tls
          ? 'is it running, serving TLS, and is its certificate trusted (tls.ca)?'
          : 'is it running?';
        failure ??= new CourierError(
          'CONNECTION_CLOSED',
          `cannot reach the broker at ${where}: ${error.message}; ${hint}`,
          {
            cause: error,
          },
        );
      });
      socket.on('close', () => {
        clearInterval(heartbeat);
        clearTimeout(handshake);
        const error =
          failure ??
          new CourierError(
            'CONNECTION_CLOSED',
            welcomed
              ? `the link to ${where} was closed`
              : opened
                ? `the broker at ${where} closed the link before answering HELLO; if it serves TLS, connect with couriers:// (or courier+wss://), and check the port`
                : `the link to ${where} closed before it opened`,
          );
        this.#welcome = undefined;
        if (!welcomed) {
          reject(error);
          if (this.#epoch > 0 && !this.#stopped) this.#retry();
          return;
        }
        this.#o.onDisconnected(error);
        if (!this.#stopped && error.code !== 'UNAUTHORIZED') this.#retry();
      });
    });
  }

  #retry(): void {
    const delay = Math.min(50 * 2 ** this.#attempt++, MAX_BACKOFF);
    // Not unref'd: a client waiting to reconnect (with publishes to resend) keeps its process alive.
    setTimeout(() => {
      if (!this.#stopped) this.#link().catch(() => undefined);
    }, delay);
  }
}
