/**
 * Options of the Redis transport, from `connect`'s options and the URL's
 * query (`redis://host:6379/0?prefix=shop&maxPayload=1048576`). Courier's own
 * query parameters are removed before the URL goes to ioredis.
 */
import { CourierError, type Duration, optionalMillis } from '@courier/core';
import type { RedisOptions } from 'ioredis';

/** Options for {@link redisTransport}. */
export interface RedisTransportOptions {
  /** The namespace: every key starts with `{prefix}:`. Default `courier`. */
  prefix?: string;
  /** Largest message in bytes, as `messageSize` counts it. Default 16 MiB (Redis itself allows 512 MiB). */
  maxPayload?: number;
  /** How long message ids are remembered for dedup; `0` turns dedup off. Default 2m. */
  dedupWindow?: Duration;
  /**
   * Approximate length each stream is trimmed to (`XADD MAXLEN ~`); `0`
   * keeps everything. A group that falls further behind loses the oldest
   * messages. Default 1,000,000.
   */
  maxLen?: number;
  /** How often each member claims entries a dead member left behind and moves due retries. Default 1s. */
  upkeepInterval?: Duration;
  /** Longest a blocking read waits before it is issued again. Default 5s. */
  blockTime?: Duration;
  /** How long a request handler stays registered without a heartbeat (sent every third of it). Default 6s. */
  responderTtl?: Duration;
  /**
   * Declares whether a resolved publish survives a restart of Redis. By
   * default the transport asks the server: `appendonly yes` with
   * `appendfsync always`.
   */
  durable?: boolean;
  /** Options for ioredis (TLS, passwords, sentinels...), merged over those from the URL. */
  redis?: RedisOptions;
  /** Errors with no caller to reject (lost connections, failed upkeep). Default: `console.error`. */
  onError?: (error: unknown) => void;
}

/** Resolved options. */
export interface ResolvedOptions {
  url: string;
  prefix: string;
  maxPayload: number;
  dedupWindow: number;
  maxLen: number;
  upkeepInterval: number;
  blockTime: number;
  responderTtl: number;
  durable: boolean | undefined;
  redis: RedisOptions;
  onError: (error: unknown) => void;
}

function invalid(name: string, value: unknown, expected: string): CourierError {
  return new CourierError('INVALID_OPTION', `${name} must be ${expected}, got ${JSON.stringify(value)}`);
}

function count(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
    throw invalid(name, value, `a whole number of at least ${min}`);
  }
  return n;
}

function duration(value: unknown, name: string, fallback: number): number {
  const given = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return optionalMillis(given as Duration | undefined, name, fallback);
}

/** Merges the URL's query with the options; query values lose to explicit options. */
export function resolveOptions(url: URL, options: RedisTransportOptions): ResolvedOptions {
  const clean = new URL(url.href);
  const query: Record<string, string> = {};
  for (const name of [
    'prefix',
    'maxPayload',
    'dedupWindow',
    'maxLen',
    'upkeepInterval',
    'blockTime',
    'responderTtl',
  ]) {
    const value = clean.searchParams.get(name);
    if (value !== null) query[name] = value;
    clean.searchParams.delete(name);
  }
  const prefix = options.prefix ?? query['prefix'] ?? 'courier';
  if (typeof prefix !== 'string' || prefix === '' || /[\s{}]/.test(prefix)) {
    throw invalid('prefix', prefix, 'a non-empty string without spaces or braces');
  }
  if (options.durable !== undefined && typeof options.durable !== 'boolean') {
    throw invalid('durable', options.durable, 'true or false');
  }
  return {
    url: clean.href,
    prefix,
    maxPayload: count(options.maxPayload ?? query['maxPayload'], 'maxPayload', 16 * 1024 * 1024, 1),
    dedupWindow: duration(options.dedupWindow ?? query['dedupWindow'], 'dedupWindow', 120_000),
    maxLen: count(options.maxLen ?? query['maxLen'], 'maxLen', 1_000_000, 0),
    upkeepInterval: Math.max(
      duration(options.upkeepInterval ?? query['upkeepInterval'], 'upkeepInterval', 1000),
      10,
    ),
    blockTime: Math.max(duration(options.blockTime ?? query['blockTime'], 'blockTime', 5000), 10),
    responderTtl: Math.max(duration(options.responderTtl ?? query['responderTtl'], 'responderTtl', 6000), 30),
    durable: options.durable,
    redis: options.redis ?? {},
    onError: options.onError ?? ((error) => console.error('[courier:redis]', error)),
  };
}

/**
 * How long a close waits for its goodbyes to the server (detach a member,
 * unregister responders): a server that is down must not hold close() while
 * ioredis retries them. What is left undone expires there (ackWait, responderTtl).
 */
export const GOODBYE_WAIT = 3000;
