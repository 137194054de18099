/**
 * Request-reply over Redis. Responders register in a hash
 * (`{prefix}:resp`: responder id -> "expiry pattern"), refreshed by a
 * heartbeat; a request runs one script that picks a live responder whose
 * pattern matches (fewest outstanding requests, ties in turn), counts it as
 * outstanding and pushes the request onto that connection's inbox list, or
 * answers `nil` at once when there is none (`NO_RESPONDERS`). Replies go to a
 * list per requesting connection. One blocking `BLPOP` per connection reads
 * both its inbox and its replies.
 */
import {
  CourierError,
  type RawMessage,
  type Reply,
  type Responder,
  toCourierError,
  type WireError,
} from '@courier/core';
import { bounded } from '@courier/core/internal';
import type { Redis } from 'ioredis';
import { decodeFields, encodeFields, packFrames, unpackFrames } from './entry-codec.js';
import type { Keys } from './keys.js';
import { GOODBYE_WAIT } from './options.js';
import { closedError, redisError } from './redis-errors.js';
import { replyScript, routeRequestScript } from './scripts.js';

/** What request-reply needs from its transport. */
export interface RpcHost {
  readonly redis: Redis;
  readonly keys: Keys;
  /** This connection's id; names its inbox and reply list. */
  readonly connection: string;
  /** How long a responder's registration lives without a heartbeat, in ms. */
  readonly responderTtl: number;
  readonly blockTime: number;
  blocking(role: string): Redis;
  onError(error: unknown): void;
}

interface Waiting {
  resolve(reply: Reply): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

interface Local {
  pattern: string;
  handler: (request: RawMessage) => Promise<Reply>;
}

function packReply(correlation: Buffer, reply: Reply): Buffer {
  return reply.ok
    ? packFrames([correlation, '1', reply.contentType, JSON.stringify(reply.headers), reply.payload])
    : packFrames([correlation, '0', JSON.stringify(reply.error)]);
}

function unpackReply(frames: Buffer[]): Reply {
  if (frames[1]?.toString() === '1') {
    return {
      ok: true,
      contentType: (frames[2] as Buffer).toString(),
      headers: JSON.parse((frames[3] as Buffer).toString()) as Record<string, string>,
      payload: new Uint8Array(frames[4] as Buffer),
    };
  }
  return { ok: false, error: CourierError.fromWire(JSON.parse((frames[2] as Buffer).toString())).toWire() };
}

/** Requests and responders of one connection. */
export class RedisRpc {
  readonly #host: RpcHost;
  readonly #waiting = new Map<string, Waiting>();
  readonly #responders = new Map<string, Local>();
  #reader: Redis | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #serial = 0;
  #closed = false;

  constructor(host: RpcHost) {
    this.#host = host;
  }

  async request(message: RawMessage, timeout: number): Promise<Reply> {
    await this.#ensureReader();
    const { redis, keys } = this.#host;
    const correlation = `${this.#host.connection}.${++this.#serial}`;
    const deadline = Date.now() + timeout;
    const blob = packFrames([
      correlation,
      keys.replies(this.#host.connection),
      String(deadline),
      ...encodeFields(message),
    ]);
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlation);
        reject(
          new CourierError(
            'TIMEOUT',
            `no reply on ${message.subject} within ${timeout} ms; the handler may still be running`,
            { data: { subject: message.subject, timeout } },
          ),
        );
      }, timeout);
      this.#waiting.set(correlation, { resolve, reject, timer });
    });
    reply.catch(() => undefined);
    let routed: unknown;
    try {
      routed = await routeRequestScript.run(redis, [keys.root, message.subject, Date.now(), timeout, blob]);
    } catch (error) {
      this.#forget(correlation);
      throw redisError(error, `a request on ${message.subject}`);
    }
    if (routed === null) {
      this.#forget(correlation);
      throw new CourierError(
        'NO_RESPONDERS',
        `no handler is registered for ${message.subject}; start a service that handles it`,
        { data: { subject: message.subject } },
      );
    }
    return reply;
  }

  async serve(pattern: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    await this.#ensureReader();
    const id = `${this.#host.connection}.${++this.#serial}`;
    this.#responders.set(id, { pattern, handler });
    try {
      await this.#register([id]);
    } catch (error) {
      this.#responders.delete(id);
      throw redisError(error, `registering a handler for ${pattern}`);
    }
    this.#startHeartbeat();
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        this.#responders.delete(id);
        const { redis, keys } = this.#host;
        await redis
          .multi()
          .hdel(`${keys.root}:resp`, id)
          .hdel(`${keys.root}:load`, id)
          .exec()
          .catch(() => undefined);
      },
    };
  }

  /** Unregisters every responder and fails waiting requests. */
  async close(): Promise<void> {
    const ids = [...this.#responders.keys()];
    this.kill();
    const { redis, keys } = this.#host;
    // A server that is down gets no goodbye: the registrations expire there (responderTtl).
    if (ids.length > 0 && redis.status === 'ready') {
      await bounded(
        redis
          .multi()
          .hdel(`${keys.root}:resp`, ...ids)
          .hdel(`${keys.root}:load`, ...ids)
          .exec(),
        GOODBYE_WAIT,
        null,
      );
    }
  }

  /** Stops at once; registrations are left to expire. */
  kill(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#responders.clear();
    this.#reader?.disconnect();
    for (const [correlation, waiting] of this.#waiting) {
      this.#forget(correlation);
      waiting.reject(closedError('wait for a reply'));
    }
  }

  #forget(correlation: string): void {
    const waiting = this.#waiting.get(correlation);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.#waiting.delete(correlation);
  }

  #register(ids: readonly string[]): Promise<unknown> {
    const expires = Date.now() + this.#host.responderTtl;
    const fields: string[] = [];
    for (const id of ids) {
      const local = this.#responders.get(id);
      if (local) fields.push(id, `${expires} ${local.pattern}`);
    }
    if (fields.length === 0) return Promise.resolve();
    return this.#host.redis.hset(`${this.#host.keys.root}:resp`, ...fields);
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(
      () => {
        this.#register([...this.#responders.keys()]).catch((error: unknown) => this.#host.onError(error));
      },
      Math.max(this.#host.responderTtl / 3, 10),
    );
    this.#heartbeat.unref();
  }

  async #ensureReader(): Promise<void> {
    if (this.#closed) throw closedError('send or serve requests');
    if (this.#reader) return;
    const reader = this.#host.blocking('rpc');
    this.#reader = reader;
    await reader.connect();
    void this.#read(reader);
  }

  async #read(reader: Redis): Promise<void> {
    const { keys, connection } = this.#host;
    const inbox = keys.inbox(connection);
    const replies = keys.replies(connection);
    let failures = 0;
    while (!this.#closed) {
      try {
        const popped = (await reader.callBuffer('BLPOP', [
          inbox,
          replies,
          Math.max(this.#host.blockTime / 1000, 0.01),
        ])) as [Buffer, Buffer] | null;
        failures = 0;
        if (!popped) continue;
        if (popped[0].toString() === replies) this.#onReply(popped[1]);
        else this.#onRequest(popped[1]);
      } catch (error) {
        if (this.#closed) return;
        if (++failures === 1) this.#host.onError(error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * failures, 1000)));
      }
    }
  }

  #onReply(value: Buffer): void {
    let frames: Buffer[];
    try {
      frames = unpackFrames(value);
    } catch (error) {
      this.#host.onError(error);
      return;
    }
    const correlation = frames[0]?.toString() ?? '';
    const waiting = this.#waiting.get(correlation);
    if (!waiting) return; // timed out: the late reply is dropped
    this.#forget(correlation);
    try {
      waiting.resolve(unpackReply(frames));
    } catch (error) {
      waiting.reject(toCourierError(error));
    }
  }

  #onRequest(value: Buffer): void {
    const newline = value.indexOf(0x0a);
    let frames: Buffer[];
    try {
      if (newline < 0) throw new Error('request without a responder id');
      frames = unpackFrames(value.subarray(newline + 1));
      if (frames.length < 3) throw new Error('request without its reply address');
    } catch (error) {
      this.#host.onError(error);
      return;
    }
    const responderId = value.subarray(0, newline).toString();
    const [correlation, replyKey, deadline, ...fields] = frames as [Buffer, Buffer, Buffer, ...Buffer[]];
    const send = (reply: Reply): void => {
      const { redis, keys } = this.#host;
      replyScript
        .run(redis, [keys.root, replyKey, responderId, packReply(correlation, reply)])
        .catch((error: unknown) => this.#host.onError(error));
    };
    const fail = (error: WireError): void => send({ ok: false, error });
    const local = this.#responders.get(responderId);
    if (!local) {
      fail(
        new CourierError('NO_RESPONDERS', 'the handler closed before it took the request; try again', {
          retryable: true,
        }).toWire(),
      );
      return;
    }
    if (Date.now() > Number(deadline.toString())) {
      fail(new CourierError('TIMEOUT', 'the request expired before a handler took it').toWire());
      return;
    }
    let message: RawMessage;
    try {
      message = decodeFields(fields).message;
    } catch (error) {
      fail(toCourierError(error, 'INVALID_MESSAGE').toWire());
      return;
    }
    local
      .handler(message)
      .then(send, (error: unknown) => fail(toCourierError(error, 'HANDLER_ERROR').toWire()));
  }
}
