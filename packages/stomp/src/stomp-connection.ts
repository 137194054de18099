/**
 * One STOMP 1.2 connection over TCP or TLS: the CONNECT handshake, heart-beats,
 * receipts as promises, MESSAGE frames routed by subscription id, and a single
 * `close` event when the socket goes, however it goes. It never reconnects:
 * the transport owns reconnection and resubscription. Frames written in one
 * event-loop turn are corked into one write.
 */
import { type Socket, connect as tcpConnect } from 'node:net';
import { type ConnectionOptions as TlsOptions, connect as tlsConnect } from 'node:tls';
import { CourierError } from '@courier/core';
import { encodeFrame, FrameParser, type StompFrame } from './frame.js';

/** Where and how to connect. */
export interface StompConnectionOptions {
  host: string;
  port: number;
  /** TLS options, or undefined for plain TCP. */
  tls?: TlsOptions | undefined;
  login?: string | undefined;
  passcode?: string | undefined;
  /** The STOMP `host` header (a virtual host). Default: `host`. */
  vhost?: string | undefined;
  /** Heart-beat interval in ms both ways; 0 disables. Default 10 s. */
  heartbeat?: number;
  /** How long the TCP connect and the STOMP handshake may take. Default 10 s. */
  connectTimeout?: number;
  /** The largest frame body accepted from the broker. */
  maxBody: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** A connected STOMP session. */
export class StompConnection {
  readonly #socket: Socket;
  readonly #parser: FrameParser;
  readonly #receipts = new Map<string, Waiter>();
  readonly #subscriptions = new Map<string, (frame: StompFrame) => void>();
  readonly #closeListeners = new Set<(error: CourierError) => void>();
  #receiptSeq = 0;
  #closed: CourierError | undefined;
  #corked = false;
  #lastRead = Date.now();
  #lastWrite = Date.now();
  #beat: NodeJS.Timeout | undefined;
  /** The broker's `server` header, e.g. `ActiveMQ/5.17.2`. */
  server = '';

  private constructor(socket: Socket, maxBody: number) {
    this.#socket = socket;
    this.#parser = new FrameParser({ maxBody });
  }

  /**
   * Connects and completes the STOMP handshake.
   * @throws CourierError `CONNECTION_CLOSED` when the broker cannot be reached, `UNAUTHORIZED` when it refuses the login.
   */
  static open(options: StompConnectionOptions): Promise<StompConnection> {
    const timeout = options.connectTimeout ?? 10_000;
    const where = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tlsConnect({ host: options.host, port: options.port, servername: options.host, ...options.tls })
        : tcpConnect({ host: options.host, port: options.port });
      socket.setNoDelay(true);
      const connection = new StompConnection(socket, options.maxBody);
      const timer = setTimeout(() => {
        fail(new CourierError('CONNECTION_CLOSED', `no STOMP handshake from ${where} within ${timeout} ms`));
      }, timeout);
      const fail = (error: CourierError): void => {
        clearTimeout(timer);
        connection.#shutdown(error);
        reject(error);
      };
      socket.on('error', (error) => {
        connection.#shutdown(
          new CourierError('CONNECTION_CLOSED', `STOMP connection to ${where} failed: ${error.message}`, {
            cause: error,
          }),
        );
      });
      socket.on('close', () => {
        connection.#shutdown(
          new CourierError('CONNECTION_CLOSED', `the STOMP connection to ${where} closed`),
        );
      });
      connection.#closeListeners.add(fail);
      const connected = (frame: StompFrame): void => {
        clearTimeout(timer);
        connection.#closeListeners.delete(fail);
        connection.server = frame.headers['server'] ?? '';
        connection.#startHeartbeat(frame.headers['heart-beat'], options.heartbeat ?? 10_000);
        resolve(connection);
      };
      connection.#onConnected = connected;
      socket.on('data', (chunk: Buffer) => connection.#onData(chunk));
      const beat = options.heartbeat ?? 10_000;
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        const headers: Record<string, string> = {
          'accept-version': '1.2',
          host: options.vhost ?? options.host,
          'heart-beat': `${beat},${beat}`,
        };
        if (options.login !== undefined) headers['login'] = options.login;
        if (options.passcode !== undefined) headers['passcode'] = options.passcode;
        connection.#write(encodeFrame({ command: 'CONNECT', headers }));
      });
    });
  }

  #onConnected: ((frame: StompFrame) => void) | undefined;

  /** Set once the connection is gone, with why. */
  get closed(): CourierError | undefined {
    return this.#closed;
  }

  /** Calls `listener` once when the connection goes (at once if it has gone). */
  onClose(listener: (error: CourierError) => void): void {
    if (this.#closed) listener(this.#closed);
    else this.#closeListeners.add(listener);
  }

  /** Routes MESSAGE frames of a subscription id to `handler`. */
  route(subscription: string, handler: ((frame: StompFrame) => void) | undefined): void {
    if (handler) this.#subscriptions.set(subscription, handler);
    else this.#subscriptions.delete(subscription);
  }

  /** Writes a frame without waiting for anything. */
  send(command: string, headers: Record<string, string>, body?: Uint8Array): void {
    if (this.#closed) throw this.#closed;
    this.#write(encodeFrame(body === undefined ? { command, headers } : { command, headers, body }));
  }

  /** Writes a frame with a `receipt` header and resolves when the broker's RECEIPT comes back. */
  call(command: string, headers: Record<string, string>, body?: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    const receipt = `r${++this.#receiptSeq}`;
    return new Promise<void>((resolve, reject) => {
      this.#receipts.set(receipt, { resolve, reject });
      this.send(command, { ...headers, receipt }, body);
    });
  }

  /** Sends DISCONNECT, waits for its receipt (at most `timeout` ms), then closes the socket. */
  async disconnect(timeout = 2000): Promise<void> {
    if (this.#closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.call('DISCONNECT', {}).catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      }),
    ]);
    clearTimeout(timer);
    this.destroy(new CourierError('CONNECTION_CLOSED', 'the STOMP connection was closed'));
  }

  /** Drops the socket at once, as a crash would. */
  destroy(reason = new CourierError('CONNECTION_CLOSED', 'the STOMP connection was dropped')): void {
    this.#shutdown(reason);
  }

  #write(bytes: Buffer): void {
    this.#lastWrite = Date.now();
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(bytes);
  }

  #onData(chunk: Buffer): void {
    this.#lastRead = Date.now();
    let frames: StompFrame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (error) {
      this.#shutdown(error as CourierError);
      return;
    }
    for (const frame of frames) {
      try {
        this.#dispatch(frame);
      } catch {
        // A failing handler must not take the process down; its message stays unacked and comes again.
      }
    }
  }

  #dispatch(frame: StompFrame): void {
    switch (frame.command) {
      case 'MESSAGE': {
        const handler = this.#subscriptions.get(frame.headers['subscription'] ?? '');
        handler?.(frame);
        return;
      }
      case 'RECEIPT': {
        const id = frame.headers['receipt-id'] ?? '';
        const waiter = this.#receipts.get(id);
        this.#receipts.delete(id);
        waiter?.resolve();
        return;
      }
      case 'CONNECTED': {
        const connected = this.#onConnected;
        this.#onConnected = undefined;
        connected?.(frame);
        return;
      }
      case 'ERROR': {
        const error = brokerError(frame);
        const id = frame.headers['receipt-id'];
        const waiter = id === undefined ? undefined : this.#receipts.get(id);
        if (id !== undefined && waiter) {
          this.#receipts.delete(id);
          waiter.reject(error);
          return;
        }
        // An ERROR that answers nothing we asked ends the session (STOMP 1.2: the server closes after it).
        this.#shutdown(
          error.code === 'INTERNAL'
            ? new CourierError('CONNECTION_CLOSED', error.message, { cause: error })
            : error,
        );
        return;
      }
      default:
        return;
    }
  }

  #startHeartbeat(header: string | undefined, wanted: number): void {
    if (wanted <= 0 || header === undefined) return;
    const [sx, sy] = header.split(',').map(Number);
    // We send every max(our cx, their cy) ms; they promise to send every max(their sx, our cy) ms.
    const sendEvery = sy && sy > 0 ? Math.max(wanted, sy) : 0;
    const expectEvery = sx && sx > 0 ? Math.max(wanted, sx) : 0;
    if (sendEvery === 0 && expectEvery === 0) return;
    const tick = Math.max(Math.min(sendEvery || Infinity, expectEvery || Infinity) / 2, 250);
    this.#beat = setInterval(() => {
      const now = Date.now();
      if (expectEvery > 0 && now - this.#lastRead > expectEvery * 2.5) {
        this.#shutdown(
          new CourierError(
            'CONNECTION_CLOSED',
            `no heart-beat from the broker for ${now - this.#lastRead} ms`,
          ),
        );
        return;
      }
      if (sendEvery > 0 && now - this.#lastWrite >= sendEvery / 2) this.#write(Buffer.from('\n'));
    }, tick);
    this.#beat.unref();
  }

  #shutdown(error: CourierError): void {
    if (this.#closed) return;
    this.#closed = error;
    clearInterval(this.#beat);
    this.#socket.destroy();
    for (const waiter of this.#receipts.values()) waiter.reject(error);
    this.#receipts.clear();
    this.#subscriptions.clear();
    for (const listener of [...this.#closeListeners]) listener(error);
    this.#closeListeners.clear();
  }
}

/** A CourierError for a broker ERROR frame, with the broker's words. */
export function brokerError(frame: StompFrame): CourierError {
  const message = frame.headers['message'] ?? 'error';
  const detail = Buffer.from(frame.body).toString('utf8').split('\n')[0] ?? '';
  const text = `the STOMP broker answered ERROR: ${message}${detail && detail !== message ? ` (${detail.slice(0, 300)})` : ''}`;
  if (/auth|login|passcode|credential|security/i.test(message)) return new CourierError('UNAUTHORIZED', text);
  if (/not authorized|permission|forbidden/i.test(message)) return new CourierError('UNAUTHORIZED', text);
  return new CourierError('INTERNAL', text, { data: { message } });
}
