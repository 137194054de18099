/**
 * JetStream consumers for Courier groups. A group on a pattern is a pull
 * consumer on the events stream, filtered on `<prefix>.<pattern>`, with a
 * twin on the replay stream filtered on `<prefix>_replay.<name>`: the only
 * way back in for the group's replayed dead letters. Durable groups are
 * durable consumers; private subscriptions are ephemeral consumers that the
 * server removes after `inactive_threshold` if their process dies.
 */
import type { ConsumeOptions } from '@courier/core';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { NatsContext } from './context.js';
import { fromNatsError } from './errors.js';
import { consumerName } from './names.js';

/** How long the server keeps a private subscription's consumer after its member stops pulling. */
export const PRIVATE_INACTIVE_THRESHOLD = 120_000;

/** A consumer Courier pulls from, and how to bring it back if it vanished. */
export interface ConsumerSpec {
  readonly stream: string;
  readonly name: string;
  readonly config: ConsumerConfig;
}

/** The two consumers of a (group, pattern) pair. */
export function groupConsumers(
  ctx: NatsContext,
  options: ConsumeOptions,
): { main: ConsumerSpec; replay: ConsumerSpec } {
  const name = consumerName(options.group, options.subject);
  const common: Omit<ConsumerConfig, 'deliver_policy'> = {
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(options.ackWait),
    // Courier decides when a message has had enough attempts (the Bus dead-letters it); the
    // engine must never drop it on its own.
    max_deliver: -1,
    max_ack_pending: ctx.options.maxAckPending,
    replay_policy: ReplayPolicy.Instant,
    ...(options.durable
      ? { durable_name: name }
      : { name, inactive_threshold: nanos(PRIVATE_INACTIVE_THRESHOLD) }),
  };
  return {
    main: {
      stream: ctx.streams.events,
      name,
      config: {
        ...common,
        filter_subject: `${ctx.space.events}.${options.subject}`,
        deliver_policy: options.deliver === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
      },
    },
    replay: {
      stream: ctx.streams.replays,
      name,
      config: {
        ...common,
        filter_subject: `${ctx.space.replays}.${name}`,
        deliver_policy: DeliverPolicy.All,
      },
    },
  };
}

function isConsumerNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;
}

/** The consumer's info, or `undefined` when it does not exist. */
export async function consumerInfo(
  ctx: NatsContext,
  stream: string,
  name: string,
): Promise<ConsumerInfo | undefined> {
  try {
    return await ctx.jsm.consumers.info(stream, name);
  } catch (error) {
    if (isConsumerNotFound(error)) return undefined;
    throw fromNatsError(error, `looking up the consumer ${name} on ${stream}`);
  }
}

/**
 * The consumer, created unless it exists. An existing durable consumer keeps
 * its configuration: groups resume where they were, with the ack wait they
 * were created with.
 */
export async function ensureConsumer(ctx: NatsContext, spec: ConsumerSpec): Promise<ConsumerInfo> {
  const existing = await consumerInfo(ctx, spec.stream, spec.name);
  if (existing) return existing;
  try {
    return await ctx.jsm.consumers.add(spec.stream, spec.config);
  } catch (error) {
    // Another member may have created it at the same moment, with another ack wait.
    const raced = await consumerInfo(ctx, spec.stream, spec.name).catch(() => undefined);
    if (raced) return raced;
    throw fromNatsError(error, `creating the consumer ${spec.name} on ${spec.stream}`);
  }
}

/** Deletes a consumer; a missing one is fine. */
export async function deleteConsumer(ctx: NatsContext, stream: string, name: string): Promise<void> {
  try {
    await ctx.jsm.consumers.delete(stream, name);
  } catch (error) {
    if (!isConsumerNotFound(error)) throw fromNatsError(error, `deleting the consumer ${name} on ${stream}`);
  }
}
