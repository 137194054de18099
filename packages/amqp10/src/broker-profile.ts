/**
 * What Courier does differently per AMQP 1.0 broker. AMQP 1.0 fixes the
 * wire, not the broker's model, so the transport names its addresses and
 * declares its capabilities per profile:
 *
 * - `rabbitmq` (RabbitMQ 3.x with the `rabbitmq_amqp1_0` plugin): publishes
 *   go to a topic exchange (`/exchange/NAME`, routing key = subject); each
 *   (group, pattern) is a durable queue bound with the pattern and read from
 *   `/amq/queue/NAME`. The plugin cannot declare bindings, so the transport
 *   declares them over AMQP 0-9-1 on the same port and credentials.
 * - `queues` (brokers with plain named queues, such as Qpid Proton's example
 *   broker): a subject is one queue, named by the subject; every group of a
 *   subject shares it; patterns cannot be routed.
 */
import { createHash } from 'node:crypto';
import { type Capabilities, CourierError, hasWildcards } from '@courier/core';

/** The profiles, chosen from the server's `product` or set with `?broker=`. */
export const BROKER_KINDS = ['rabbitmq', 'queues'] as const;
/** A broker profile name. */
export type BrokerKind = (typeof BROKER_KINDS)[number];

/** Naming and capabilities for one broker. */
export interface BrokerProfile {
  readonly kind: BrokerKind;
  readonly capabilities: Readonly<Capabilities>;
  /** Where a publish to `subject` is sent. */
  publishAddress(subject: string): string;
  /** The queue a group reads, by (group, pattern). */
  groupQueue(group: string, pattern: string, durable: boolean): string;
  /** The address to receive a group's queue from. */
  sourceAddress(queue: string): string;
  /** The address to send a retried or replayed copy to a group's queue. */
  targetAddress(queue: string): string;
  /** The address of a group's dead-letter queue (receive and send). */
  deadLetterAddress(group: string): string;
  /** @throws CourierError `UNSUPPORTED` for a pattern the broker cannot route. */
  assertPattern(pattern: string): void;
}

/** Names longer than this are shortened with a hash (RabbitMQ allows 255 bytes). */
const MAX_NAME = 200;

function bounded(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_NAME - 20)}~${hash}`;
}

/** A Courier pattern as an AMQP topic binding key: `*` is one word, `>` one or more. */
export function bindingKey(pattern: string): string {
  return pattern
    .split('.')
    .map((token) => (token === '>' ? '*.#' : token))
    .join('.');
}

/** Options shared by the profiles. */
export interface ProfileOptions {
  /** Prefix of every queue Courier names. Default `courier`. */
  prefix: string;
  /** The topic exchange publishes go to (rabbitmq). Default `courier.amqp10`. */
  exchange: string;
  maxPayload: number;
}

/** The RabbitMQ 3.x profile. */
export function rabbitmqProfile(options: ProfileOptions): BrokerProfile {
  return {
    kind: 'rabbitmq',
    capabilities: Object.freeze({
      durable: true,
      replay: false,
      keyOrdering: false,
      delay: false,
      nackDelay: false,
      dedup: false,
      request: false,
      deadLetter: true,
      maxPayload: options.maxPayload,
    }),
    publishAddress: () => `/exchange/${options.exchange}`,
    groupQueue: (group, pattern, durable) =>
      bounded(durable ? `${options.prefix}.g.${group}.${pattern}` : `${options.prefix}.p.${group}`),
    sourceAddress: (queue) => `/amq/queue/${queue}`,
    targetAddress: (queue) => `/amq/queue/${queue}`,
    deadLetterAddress: (group) => `/queue/${bounded(`${options.prefix}.dlq.${group}`)}`,
    assertPattern(pattern) {
      if (pattern.split('.').some((t) => t !== '*' && t !== '>' && t.includes('#'))) {
        throw new CourierError(
          'UNSUPPORTED',
          `pattern ${pattern} has a token with '#', which a RabbitMQ topic binding reads as a wildcard; rename the subject's tokens`,
        );
      }
    },
  };
}

/** The plain-queues profile (Qpid Proton's example broker and alike). */
export function queuesProfile(options: ProfileOptions): BrokerProfile {
  return {
    kind: 'queues',
    capabilities: Object.freeze({
      durable: false,
      replay: false,
      keyOrdering: false,
      delay: false,
      nackDelay: false,
      dedup: false,
      request: false,
      deadLetter: true,
      maxPayload: options.maxPayload,
    }),
    publishAddress: (subject) => subject,
    groupQueue: (_group, pattern) => pattern,
    sourceAddress: (queue) => queue,
    targetAddress: (queue) => queue,
    deadLetterAddress: (group) => `${options.prefix}.dlq.${group}`,
    assertPattern(pattern) {
      if (hasWildcards(pattern)) {
        throw new CourierError(
          'UNSUPPORTED',
          `pattern ${pattern} has wildcards, but this broker has plain named queues (one per subject) and cannot route patterns; subscribe to exact subjects or use a broker with topic routing (?broker=rabbitmq)`,
          { data: { pattern } },
        );
      }
    },
  };
}

/** The profile for a broker kind. */
export function brokerProfile(kind: BrokerKind, options: ProfileOptions): BrokerProfile {
  return kind === 'rabbitmq' ? rabbitmqProfile(options) : queuesProfile(options);
}

/** The profile that fits a server, from the `product` it announces. */
export function detectKind(serverProperties: Record<string, unknown>): BrokerKind {
  return serverProperties['product'] === 'RabbitMQ' ? 'rabbitmq' : 'queues';
}
