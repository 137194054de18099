/**
 * The options of the RabbitMQ transport, read from `connect`'s `transport`
 * options (and a few from the URL's query), checked, with their defaults.
 */
import { CourierError } from '@courier/core';

/** Options of the RabbitMQ transport. */
export interface AmqpTransportOptions {
  /**
   * Prefix of every exchange and queue this transport declares, so several
   * applications (or tests) can share a vhost. Default `courier`; also
   * `?namespace=` in the URL.
   */
  namespace?: string;
  /**
   * Largest message accepted, in bytes (as `messageSize` counts it).
   * Default 16 MiB; RabbitMQ 3.10 refuses more than its `max_message_size`
   * (128 MiB by default) and large messages hurt every queue they pass.
   */
  maxPayload?: number;
  /** Heartbeat interval in seconds, so a dead connection is noticed. Default 10; also `?heartbeat=` in the URL. */
  heartbeat?: number;
  /** Requests one responder handles at once (its prefetch). Default 32. */
  requestPrefetch?: number;
  /** Reconnect backoff: first delay and cap, in ms. Default 100 and 5000. */
  reconnect?: { initialDelay?: number; maxDelay?: number };
  /** A name shown for the connection in RabbitMQ's management tools. Default `courier`. */
  connectionName?: string;
  /** Socket and TLS options passed to amqplib (`ca`, `cert`, `key`, `servername`...). */
  socket?: Record<string, unknown>;
}

/** Options after defaults and checks. */
export interface ResolvedOptions {
  readonly url: string;
  readonly namespace: string;
  readonly maxPayload: number;
  readonly requestPrefetch: number;
  readonly reconnect: { readonly initialDelay: number; readonly maxDelay: number };
  readonly socket: Record<string, unknown>;
}

function invalid(name: string, expected: string, value: unknown): CourierError {
  return new CourierError(
    'INVALID_OPTION',
    `the RabbitMQ transport option ${name} must be ${expected}, got ${JSON.stringify(value)}`,
  );
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw invalid(name, 'a positive integer', value);
  return value;
}

const NAMESPACE = /^[A-Za-z0-9_.-]{1,100}$/;

/** Applies defaults and checks every option. */
export function resolveOptions(url: URL, options: AmqpTransportOptions): ResolvedOptions {
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new CourierError(
      'INVALID_URL',
      `the RabbitMQ transport takes amqp:// or amqps:// URLs, got ${url.protocol}//`,
    );
  }
  const namespace = options.namespace ?? url.searchParams.get('namespace') ?? 'courier';
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace))
    throw invalid('namespace', 'letters, digits, ".", "_" or "-" (1 to 100)', namespace);
  const heartbeat = positive('heartbeat', options.heartbeat, 10);
  const target = new URL(url.href);
  target.searchParams.delete('namespace');
  if (!target.searchParams.has('heartbeat')) target.searchParams.set('heartbeat', String(heartbeat));
  const connectionName = options.connectionName ?? 'courier';
  if (typeof connectionName !== 'string') throw invalid('connectionName', 'a string', connectionName);
  const socket = options.socket ?? {};
  if (typeof socket !== 'object' || socket === null) throw invalid('socket', 'an object', socket);
  const extra = (socket as { clientProperties?: Record<string, unknown> }).clientProperties ?? {};
  return {
    url: target.href,
    namespace,
    maxPayload: positive('maxPayload', options.maxPayload, 16 * 1024 * 1024),
    requestPrefetch: positive('requestPrefetch', options.requestPrefetch, 32),
    reconnect: {
      initialDelay: positive('reconnect.initialDelay', options.reconnect?.initialDelay, 100),
      maxDelay: positive('reconnect.maxDelay', options.reconnect?.maxDelay, 5000),
    },
    // Nagle's algorithm holds small frames (acks, confirms) for tens of ms; messaging wants them out at once.
    socket: { noDelay: true, ...socket, clientProperties: { connection_name: connectionName, ...extra } },
  };
}
