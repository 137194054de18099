/**
 * Options of the NATS transport, from `natsTransport({...})` or from a
 * `nats://` URL and `connect(url, { transport: {...} })`, checked once and
 * resolved to the values the transport runs with.
 */
import { CourierError, type Duration, optionalMillis } from '@courier/core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { isValidPrefix, isValidStreamName } from './names.js';

/** Options of {@link natsTransport}. */
export interface NatsTransportOptions {
  /** Server URLs (`nats://host:4222`). Default `nats://127.0.0.1:4222`. */
  servers?: string | string[];
  /** The stream that holds the deployment's events; created on first use. Default `COURIER`. */
  stream?: string;
  /**
   * The subject prefix of the deployment: the event `orders.created` is the
   * NATS subject `<prefix>.orders.created`, and the stream captures
   * `<prefix>.>`. Dead letters and replays live under `<prefix>_dlq.>` and
   * `<prefix>_replay.>`. Default `courier`.
   */
  prefix?: string;
  /**
   * Prepended (with a dot) to request subjects. Default none: the request
   * `inventory.reserve` is the core NATS subject `inventory.reserve`, so
   * plain NATS services can answer it.
   */
  requestPrefix?: string;
  /** The queue group of responders. Default `courier`. */
  queue?: string;
  /** JetStream's duplicate window for streams Courier creates. Default 2m. */
  dedupWindow?: Duration;
  /** Retention of a stream Courier creates: the oldest messages go after this age. Default: kept. */
  maxAge?: Duration;
  /** Retention of a stream Courier creates: at most this many bytes. Default: no limit. */
  maxBytes?: number;
  /** Retention of a stream Courier creates: at most this many messages. Default: no limit. */
  maxMessages?: number;
  /** Replicas of streams Courier creates (a clustered server). Default 1. */
  replicas?: number;
  /** `file` (durable) or `memory` (lost when the server stops). Default `file`. */
  storage?: 'file' | 'memory';
  /**
   * How long a publish keeps retrying, with the same message id, while the
   * PubAck does not come (connection lost, JetStream restarting). Default 30s.
   */
  publishTimeout?: Duration;
  /** How long JetStream API calls wait for an answer. Default 5s. */
  apiTimeout?: Duration;
  /**
   * `max_ack_pending` of the consumers Courier creates: how many messages a
   * group may have delivered and not yet acked, across its members. Messages
   * waiting for a retry or for their `delay` count too. Default 10,000.
   */
  maxAckPending?: number;
  /** More options for the NATS client: TLS, an authenticator, a connection name. */
  connection?: Partial<NodeConnectionOptions>;
}

/** The options a transport runs with. */
export interface ResolvedOptions {
  servers: string[];
  stream: string;
  prefix: string;
  requestPrefix: string;
  queue: string;
  dedupWindow: number;
  maxAge: number;
  maxBytes: number;
  maxMessages: number;
  replicas: number;
  storage: 'file' | 'memory';
  publishTimeout: number;
  apiTimeout: number;
  maxAckPending: number;
  connection: Partial<NodeConnectionOptions>;
}

function invalid(name: string, value: unknown, expected: string): CourierError {
  return new CourierError('INVALID_OPTION', `${name} must be ${expected}, got ${JSON.stringify(value)}`, {
    data: { option: name },
  });
}

function text(
  value: unknown,
  name: string,
  fallback: string,
  valid: (s: string) => boolean,
  expected: string,
) {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !valid(value)) throw invalid(name, value, expected);
  return value;
}

function count(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) throw invalid(name, value, 'an integer');
  return n;
}

/** Checks options and fills in defaults. */
export function resolveOptions(options: NatsTransportOptions): ResolvedOptions {
  const servers = options.servers ?? 'nats://127.0.0.1:4222';
  const list = Array.isArray(servers) ? servers : [servers];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === ''))
    throw invalid('servers', servers, 'a server URL or a non-empty list of them');
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw invalid('storage', storage, "'file' or 'memory'");
  const replicas = count(options.replicas, 'replicas', 1);
  if (replicas < 1 || replicas > 5) throw invalid('replicas', options.replicas, 'between 1 and 5');
  const resolved = {
    servers: list,
    stream: text(
      options.stream,
      'stream',
      'COURIER',
      isValidStreamName,
      'a JetStream stream name ([A-Za-z0-9_-], at most 64)',
    ),
    prefix: text(options.prefix, 'prefix', 'courier', isValidPrefix, 'dot-separated tokens of [A-Za-z0-9_-]'),
    requestPrefix: text(
      options.requestPrefix,
      'requestPrefix',
      '',
      (s) => s === '' || isValidPrefix(s),
      'empty or dot-separated tokens of [A-Za-z0-9_-]',
    ),
    queue: text(
      options.queue,
      'queue',
      'courier',
      (s) => /^[A-Za-z0-9_.-]+$/.test(s),
      'a NATS queue group name',
    ),
    dedupWindow: optionalMillis(options.dedupWindow, 'dedupWindow', 120_000),
    maxAge: optionalMillis(options.maxAge, 'maxAge', 0),
    maxBytes: count(options.maxBytes, 'maxBytes', -1),
    maxMessages: count(options.maxMessages, 'maxMessages', -1),
    replicas,
    storage,
    publishTimeout: optionalMillis(options.publishTimeout, 'publishTimeout', 30_000),
    apiTimeout: optionalMillis(options.apiTimeout, 'apiTimeout', 5_000),
    maxAckPending: count(options.maxAckPending, 'maxAckPending', 10_000),
    connection: options.connection ?? {},
  };
  assertRequestsOutsideStreams(resolved.requestPrefix, resolved.prefix);
  return resolved;
}

/**
 * The event, dead-letter and replay streams capture `prefix.>`, `prefix_dlq.>`
 * and `prefix_replay.>`: requests under any of them would be stored, and their
 * PubAck would come back as the reply.
 */
function assertRequestsOutsideStreams(requestPrefix: string, prefix: string): void {
  if (requestPrefix === '') return;
  for (const space of [prefix, `${prefix}_dlq`, `${prefix}_replay`]) {
    if (requestPrefix === space || requestPrefix.startsWith(`${space}.`)) {
      throw new CourierError(
        'INVALID_OPTION',
        `requestPrefix ${JSON.stringify(requestPrefix)} lies under ${space}.>, which this deployment's JetStream streams capture, so requests would be stored instead of answered; use a prefix outside it, e.g. ${JSON.stringify(`${prefix}_rpc`)}`,
        { data: { requestPrefix, prefix } },
      );
    }
  }
}

const URL_OPTIONS = [
  'stream',
  'prefix',
  'requestPrefix',
  'queue',
  'dedupWindow',
  'maxAge',
  'maxBytes',
  'maxMessages',
  'replicas',
  'storage',
  'publishTimeout',
  'apiTimeout',
  'maxAckPending',
] as const;

const TEXT_OPTIONS: ReadonlySet<string> = new Set(['stream', 'prefix', 'requestPrefix', 'queue', 'storage']);

/**
 * Options from a `nats://[user:pass@|token@]host[:port][?stream=..&prefix=..]`
 * URL, with `options` (from `connect`) taking precedence.
 */
export function optionsFromUrl(url: URL, options: Record<string, unknown>): NatsTransportOptions {
  if (url.protocol !== 'nats:')
    throw new CourierError(
      'INVALID_URL',
      `@courier/nats serves nats:// URLs, got ${url.protocol}// in ${url.href}`,
    );
  for (const name of url.searchParams.keys()) {
    if (!(URL_OPTIONS as readonly string[]).includes(name))
      throw new CourierError(
        'INVALID_URL',
        `unknown option ${name} in ${url.href}; known: ${URL_OPTIONS.join(', ')}`,
      );
  }
  const fromUrl: Record<string, unknown> = {};
  for (const name of URL_OPTIONS) {
    const value = url.searchParams.get(name);
    if (value === null) continue;
    // Durations and counts may come as plain numbers of milliseconds or items.
    fromUrl[name] = TEXT_OPTIONS.has(name) || !/^\d+$/.test(value) ? value : Number(value);
  }
  const connection: Partial<NodeConnectionOptions> = {};
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  if (user !== '' && pass !== '') {
    connection.user = user;
    connection.pass = pass;
  } else if (user !== '') connection.token = user;
  const merged = { ...fromUrl, ...options } as NatsTransportOptions;
  return {
    ...merged,
    servers: merged.servers ?? `nats://${url.host === '' ? '127.0.0.1:4222' : url.host}`,
    connection: { ...connection, ...(merged.connection ?? {}) },
  };
}
