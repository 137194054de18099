/**
 * How Courier's concepts are named and shaped on RabbitMQ: the exchanges,
 * the queue of each (group, subject) pair, the dead-letter queue of each
 * group, the shared retry and delay queues (one per delay bucket), and the
 * translation of subject patterns into topic-exchange binding keys.
 */
import { createHash } from 'node:crypto';
import { CourierError } from '@courier/core';

/** RabbitMQ's limit on queue names and routing keys, in bytes (shortstr). */
export const MAX_NAME_BYTES = 255;

/** The names of one namespace's exchanges. */
export interface ExchangeNames {
  /** Topic exchange: every publish, routed by subject. */
  readonly events: string;
  /** Topic exchange: requests, routed by subject to the responders' queues. */
  readonly rpc: string;
  /** Headers exchange: messages waiting out a delay, routed to their bucket's queue. */
  readonly wait: string;
}

/** The exchanges of a namespace. */
export function exchangeNames(namespace: string): ExchangeNames {
  return { events: namespace, rpc: `${namespace}.rpc`, wait: `${namespace}.wait` };
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A name within RabbitMQ's 255-byte limit: long names keep a readable head and a hash of the whole. */
export function boundedName(name: string): string {
  if (bytes(name) <= MAX_NAME_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 24);
  let head = name.slice(0, 200);
  while (bytes(head) > 200) head = head.slice(0, -1);
  return `${head}~${hash}`;
}

// Groups are free text: escape the separator so (group, subject) pairs never collide.
function escapeGroup(group: string): string {
  return group.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/** The durable queue of a (group, subject pattern) pair. */
export function groupQueue(namespace: string, group: string, pattern: string): string {
  return boundedName(`${namespace}.group:${escapeGroup(group)}:${pattern}`);
}

/** The dead-letter queue of a group (all its subject patterns). */
export function deadLetterQueue(namespace: string, group: string): string {
  return boundedName(`${namespace}.dlq:${escapeGroup(group)}`);
}

/** The queue shared by every responder of a subject pattern. */
export function rpcQueue(namespace: string, pattern: string): string {
  return boundedName(`${namespace}.rpc:${pattern}`);
}

/** What a wait queue does when its messages expire. */
export type WaitStage = 'retry' | 'delay';

/** A queue holding messages for `bucket` ms: retries go back to their group's queue, delays to the events exchange. */
export function waitQueue(namespace: string, stage: WaitStage, bucket: number): string {
  return `${namespace}.${stage}.${bucket}`;
}

/**
 * Rounds a delay up to two significant digits (at most 10% later, never
 * earlier), so that arbitrary backoffs share a bounded set of wait queues:
 * 50, 100, 130, 1_300, 300_000...
 */
export function delayBucket(ms: number): number {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 100) return whole;
  const unit = 10 ** (Math.floor(Math.log10(whole)) - 1);
  return Math.ceil(whole / unit) * unit;
}

/**
 * The binding key for a subject pattern. `*` stays `*`; `>` (one or more
 * tokens) becomes `*.#`, since `#` alone also matches zero tokens and
 * `orders.>` must not receive `orders`.
 * @throws CourierError `INVALID_SUBJECT` for patterns RabbitMQ cannot express.
 */
export function bindingKey(pattern: string): string {
  const tokens = pattern.split('.');
  if (tokens.includes('#')) {
    throw new CourierError(
      'INVALID_SUBJECT',
      `invalid subject ${JSON.stringify(pattern)} for RabbitMQ: a '#' token is a wildcard in binding keys and cannot be matched literally; rename the token`,
      { data: { subject: pattern } },
    );
  }
  const key = tokens.map((token) => (token === '>' ? '*.#' : token)).join('.');
  assertRoutable(key, pattern);
  return key;
}

/**
 * Checks that a subject fits in a routing key.
 * @throws CourierError `INVALID_SUBJECT` for subjects over 255 bytes.
 */
export function assertRoutable(key: string, subject: string = key): void {
  if (bytes(key) > MAX_NAME_BYTES) {
    throw new CourierError(
      'INVALID_SUBJECT',
      `subject ${JSON.stringify(subject.slice(0, 60))}... is ${bytes(key)} bytes as a RabbitMQ routing key; the limit is ${MAX_NAME_BYTES}; use shorter subjects`,
      { data: { subject } },
    );
  }
}

/**
 * Arguments of a group's queue. Durable groups are quorum queues: replicated,
 * fsynced before the publisher's confirm, and the broker counts redeliveries
 * (`x-delivery-count`). Private subscriptions are classic auto-delete queues
 * that also expire a minute after losing their last consumer, should
 * auto-delete never get its chance (a consumer that never attached).
 */
export function groupQueueArguments(durable: boolean): Record<string, unknown> {
  return durable ? { 'x-queue-type': 'quorum' } : { 'x-queue-type': 'classic', 'x-expires': 60_000 };
}

/**
 * Arguments of a wait queue: every message expires after `bucket` ms and is
 * dead-lettered with its own routing key, to the default exchange (a retry:
 * the key is its group's queue) or to the events exchange (a delay: the key
 * is its subject). The queue deletes itself after ten idle minutes past its TTL.
 */
export function waitQueueArguments(
  exchanges: ExchangeNames,
  stage: WaitStage,
  bucket: number,
): Record<string, unknown> {
  return {
    'x-queue-type': 'classic',
    'x-message-ttl': bucket,
    'x-dead-letter-exchange': stage === 'retry' ? '' : exchanges.events,
    'x-expires': bucket + WAIT_QUEUE_IDLE,
  };
}

/** How long a wait queue outlives its TTL unused; it is redeclared well within this before each use. */
export const WAIT_QUEUE_IDLE = 10 * 60_000;

/** The headers that route a message into a wait queue through the wait exchange. */
export function waitBinding(stage: WaitStage, bucket: number): Record<string, string> {
  return { 'x-match': 'all', 'courier-stage': stage, 'courier-bucket': String(bucket) };
}
