/**
 * The Redis Streams transport. Every subject has a stream (its log); every
 * wildcard pattern that a group subscribes to has a stream that the publish
 * script copies matching messages into; a group is a Redis consumer group on
 * one of those, plus a private stream for its retries and replays. Delayed
 * messages and retry delays wait in sorted sets; dedup is an expiring key
 * set in the same script as the append. See docs/engines/redis.md.
 */
import { randomBytes } from 'node:crypto';
import {
  assertSize,
  type Capabilities,
  type ConsumeOptions,
  type Consumer,
  CourierError,
  type CreateTransport,
  type Delivery,
  type RawMessage,
  type Reply,
  type Responder,
  type Transport,
} from '@courier/core';
import { bounded } from '@courier/core/internal';
import { Redis, type RedisOptions } from 'ioredis';
import { encodeMeta, payloadBuffer } from './entry-codec.js';
import { Keys } from './keys.js';
import { type RedisTransportOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { RedisConsumer } from './redis-consumer.js';
import { RedisDeadLetters } from './redis-dead-letters.js';
import { closedError, redisError } from './redis-errors.js';
import { RedisRpc } from './redis-rpc.js';
import { moveDelayedScript, publishScript } from './scripts.js';
import { token } from './token.js';

/** How many delayed messages one script run moves. */
const MOVE_BATCH = 500;

/** A connection to Redis: one command connection, plus one blocking connection per consumer and one for requests. */
export class RedisTransport implements Transport {
  readonly engine = 'redis';
  readonly capabilities: Readonly<Capabilities>;
  readonly deadLetters: RedisDeadLetters;
  /** This connection's id; its Redis connections are named `courier:<id>` and `courier:<id>:<role>`. */
  readonly connectionId: string;
  readonly keys: Keys;
  readonly #options: ResolvedOptions;
  readonly #redis: Redis;
  readonly #connections = new Set<Redis>();
  readonly #consumers = new Set<RedisConsumer>();
  readonly #rpc: RedisRpc;
  #serial = 0;
  #closed = false;
  /** Whether the last move of delayed messages failed (its error was reported once). */
  #delayedFailing = false;
  #closing: Promise<void> | undefined;
  #delayedTimer: NodeJS.Timeout | undefined;
  #delayedAt = Number.POSITIVE_INFINITY;
  #sweep: NodeJS.Timeout | undefined;
  /** The publish script's first argument without and with the deliverAt part. */
  readonly #publishHeader: string;
  readonly #publishHeader0: string;

  private constructor(options: ResolvedOptions, redis: Redis, id: string, durable: boolean) {
    this.#options = options;
    this.#redis = redis;
    this.connectionId = id;
    this.keys = new Keys(options.prefix);
    this.#publishHeader = `${this.keys.root} ${options.dedupWindow} ${options.maxLen}`;
    this.#publishHeader0 = `${this.#publishHeader} 0`;
    this.capabilities = Object.freeze({
      durable,
      replay: true,
      keyOrdering: false,
      delay: true,
      nackDelay: true,
      dedup: options.dedupWindow > 0,
      request: true,
      deadLetter: true,
      maxPayload: options.maxPayload,
    });
    this.deadLetters = new RedisDeadLetters(() => this.#redis, this.keys);
    const host = this.#host();
    this.#rpc = new RedisRpc({ ...host, connection: id, responderTtl: options.responderTtl });
  }

  /** Connects and asks the server whether it persists every write (for `capabilities.durable`). */
  static async connect(url: URL, options: RedisTransportOptions = {}): Promise<RedisTransport> {
    const resolved = resolveOptions(url, options);
    const id = randomBytes(6).toString('hex');
    const redisOptions: RedisOptions = {
      connectionName: `courier:${id}`,
      // Commands issued in one turn go out in one write. (ioredis 6.0.0 crashes auto-pipelining
      // `call`/`callBuffer`: use the typed methods on this connection.)
      enableAutoPipelining: true,
      lazyConnect: true,
      // RESP2: reply shapes (XREADGROUP, script results) are the same on every server version.
      protocol: 2,
      ...resolved.redis,
    };
    const { replyMapping: _ignored, ...legacy } = redisOptions;
    const redis = new Redis(resolved.url, legacy);
    // ioredis rejects a failed first connect with "Connection is closed."; the reason came as an event.
    // It is the caller's rejection, not onError's: watchErrors starts once connected.
    let reason: Error | undefined;
    const remember = (error: Error) => {
      reason = error;
    };
    redis.on('error', remember);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      const host = url.host || 'localhost';
      if (reason === undefined) throw redisError(error, `connecting to ${host}`);
      const unreachable = UNREACHABLE.has((reason as { code?: unknown }).code as string);
      throw new CourierError(
        'CONNECTION_CLOSED',
        `cannot connect to Redis at ${host} (${reason.message}); ${unreachable ? 'is the server running there and reachable?' : "check the URL's host, port, TLS and credentials"}`,
        { cause: reason },
      );
    } finally {
      redis.off('error', remember);
    }
    watchErrors(redis, resolved.onError);
    const durable = resolved.durable ?? (await persistsEveryWrite(redis));
    const transport = new RedisTransport(resolved, redis, id, durable);
    transport.#connections.add(redis);
    return transport;
  }

  #host() {
    return {
      redis: this.#redis,
      keys: this.keys,
      upkeepInterval: this.#options.upkeepInterval,
      blockTime: this.#options.blockTime,
      blocking: (role: string) => this.#blocking(role),
      readerName: (role: string) => `courier:${this.connectionId}:${role}`,
      onError: (error: unknown) => this.#options.onError(error),
    };
  }

  #blocking(role: string): Redis {
    const connection = this.#redis.duplicate({
      connectionName: `courier:${this.connectionId}:${role}`,
      enableAutoPipelining: false,
      lazyConnect: true,
      maxRetriesPerRequest: null,
    } satisfies RedisOptions);
    watchErrors(connection, this.#options.onError);
    this.#connections.add(connection);
    connection.once('end', () => this.#connections.delete(connection));
    return connection;
  }

  #open(what: string): void {
    if (this.#closed) throw closedError(what);
  }

  async publish(message: RawMessage): Promise<void> {
    this.#open('publish');
    assertSize(message, this.#options.maxPayload, 'redis');
    const at = message.deliverAt !== undefined && message.deliverAt > Date.now() ? message.deliverAt : 0;
    try {
      await publishScript.run(this.#redis, [
        at > 0 ? `${this.#publishHeader} ${at} ${token()}` : this.#publishHeader0,
        message.id,
        message.subject,
        encodeMeta(message),
        payloadBuffer(message),
      ]);
    } catch (error) {
      throw redisError(error, `publishing to ${message.subject}`);
    }
    if (at > 0) this.#scheduleDelayed(at);
  }

  async consume(options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Promise<Consumer> {
    this.#open('consume');
    const consumer = new RedisConsumer(
      this.#host(),
      options,
      onDelivery,
      `${this.connectionId}-${++this.#serial}`,
    );
    this.#consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.#consumers.delete(consumer);
      consumer.kill();
      throw redisError(error, `subscribing ${options.group} to ${options.subject}`);
    }
    this.#startSweep();
    return {
      stop: () => consumer.stop(),
      close: async () => {
        await consumer.close();
        this.#consumers.delete(consumer);
      },
    };
  }

  async request(message: RawMessage, options: { timeout: number }): Promise<Reply> {
    this.#open('send a request');
    assertSize(message, this.#options.maxPayload, 'redis');
    return this.#rpc.request(message, options.timeout);
  }

  async serve(subject: string, handler: (request: RawMessage) => Promise<Reply>): Promise<Responder> {
    this.#open('serve requests');
    return this.#rpc.serve(subject, handler);
  }

  /**
   * Moves due delayed messages into their streams. Publishers of delayed
   * messages schedule it for their due time; every transport with consumers
   * also runs it each upkeep interval, so a delayed message is moved even if
   * its publisher died.
   */
  async #moveDelayed(): Promise<void> {
    if (this.#closed) return;
    try {
      const [, next] = (await moveDelayedScript.run(this.#redis, [
        this.keys.root,
        Date.now(),
        this.#options.maxLen,
        MOVE_BATCH,
      ])) as [number, string | null];
      if (next !== null) this.#scheduleDelayed(Number(next));
      this.#delayedFailing = false;
    } catch (error) {
      // Every upkeep tries again; the outage is reported once, as watchErrors does for connections.
      if (!this.#closed && !this.#delayedFailing)
        this.#options.onError(redisError(error, 'moving delayed messages'));
      this.#delayedFailing = true;
    }
  }

  #scheduleDelayed(at: number): void {
    if (this.#closed || at >= this.#delayedAt) return;
    clearTimeout(this.#delayedTimer);
    this.#delayedAt = at;
    this.#delayedTimer = setTimeout(
      () => {
        this.#delayedAt = Number.POSITIVE_INFINITY;
        void this.#moveDelayed();
      },
      Math.max(at - Date.now(), 0),
    );
    this.#delayedTimer.unref();
  }

  #startSweep(): void {
    if (this.#sweep) return;
    this.#sweep = setInterval(() => {
      if (this.#consumers.size > 0) void this.#moveDelayed();
    }, this.#options.upkeepInterval);
    this.#sweep.unref();
  }

  #stopTimers(): void {
    clearTimeout(this.#delayedTimer);
    clearInterval(this.#sweep);
  }

  /**
   * Drops every connection at once, as a crashed process would: nothing is
   * released, so this member's deliveries go to other members after their
   * ackWait, and its responders expire after `responderTtl`.
   */
  kill(): void {
    this.#closed = true;
    this.#stopTimers();
    for (const consumer of this.#consumers) consumer.kill();
    this.#consumers.clear();
    this.#rpc.kill();
    for (const connection of this.#connections) connection.disconnect();
    this.#connections.clear();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#stopTimers();
      await Promise.allSettled([...this.#consumers].map((consumer) => consumer.close()));
      this.#consumers.clear();
      await this.#rpc.close();
      await Promise.allSettled([...this.#connections].map((connection) => quit(connection)));
      this.#connections.clear();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Socket errors that mean nothing answered at that address. */
const UNREACHABLE: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** A socket error as `CONNECTION_CLOSED`, saying that ioredis reconnects; other errors as they are. */
function connectionError(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !(UNREACHABLE.has(code) || code === 'ECONNRESET' || code === 'EPIPE'))
    return error;
  return new CourierError(
    'CONNECTION_CLOSED',
    `lost the connection to Redis (${(error as Error).message}); ioredis reconnects by itself, so check that the server is up`,
    { cause: error },
  );
}

/** Reports a connection's errors once per outage (ioredis repeats them on every reconnect attempt). */
function watchErrors(redis: Redis, onError: (error: unknown) => void): void {
  let reported = false;
  redis.on('error', (error: unknown) => {
    if (reported) return;
    reported = true;
    onError(connectionError(error));
  });
  redis.on('ready', () => {
    reported = false;
  });
}

/** QUIT when the server is there (within a second), then drop the socket; at once when it is not. */
async function quit(connection: Redis): Promise<void> {
  // A QUIT queued while ioredis reconnects never settles once the socket is dropped: not waited for.
  if (connection.status === 'ready') await bounded(connection.quit(), 1000, undefined);
  connection.disconnect();
}

/** `appendonly yes` with `appendfsync always`; `false` when the server does not say (CONFIG may be disabled). */
async function persistsEveryWrite(redis: Redis): Promise<boolean> {
  try {
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, fsync] = (await redis.config('GET', 'appendfsync')) as string[];
    return appendonly === 'yes' && fsync === 'always';
  } catch {
    return false;
  }
}

/**
 * Connects to Redis. `url` is `redis://[user:password@]host[:port][/db]` or
 * `rediss://` for TLS, with Courier's options allowed in the query.
 */
export function redisTransport(
  url: string | URL = 'redis://127.0.0.1:6379',
  options: RedisTransportOptions = {},
): Promise<RedisTransport> {
  return RedisTransport.connect(typeof url === 'string' ? new URL(url) : url, options);
}

/** The entry point `connect` uses for `redis://` and `rediss://`. */
export const createTransport: CreateTransport = (url, options) =>
  RedisTransport.connect(url, options as RedisTransportOptions);
