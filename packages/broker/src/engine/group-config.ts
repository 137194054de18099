/**
 * Server-side group settings (the engine's `groups` option and the broker
 * config file's `groups` key): caps and floors the broker applies to every
 * member of a group, whatever its clients ask. The Bus's own options
 * (`retry`, `ackWait`, `concurrency`) still apply inside these bounds; see
 * docs/broker.md for the precedence.
 */
import { CourierError, type Delivery, type Duration, type GroupMember, optionalMillis } from '@courier/core';

/** One entry of the `groups` option. */
export interface GroupConfig {
  /** The group's name. */
  group: string;
  /** Only the group's subscription on this subject pattern; all of the group's subscriptions when absent. */
  subject?: string;
  /** Deliveries after which the broker dead-letters a message itself (a crash loop, or a client retrying longer). */
  maxDeliveries?: number;
  /** The least delay before each redelivery after a failure, in ms, by attempt (the last repeats). */
  backoff?: number[];
  /** The longest ack wait a member may use. */
  ackWait?: Duration;
  /** The most unsettled deliveries one member may hold. */
  maxInFlight?: number;
}

/** A group setting, checked. */
export interface ResolvedGroupConfig {
  readonly group: string;
  readonly subject: string | undefined;
  readonly maxDeliveries: number | undefined;
  readonly backoff: readonly number[];
  readonly ackWaitMs: number | undefined;
  readonly maxInFlight: number | undefined;
}

function whole(group: string, field: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw new CourierError(
      'INVALID_OPTION',
      `group ${group}: ${field} is ${JSON.stringify(value)}; use a whole number of at least ${min}`,
    );
  return value;
}

/** Checks the `groups` option; throws `INVALID_OPTION` naming the bad field. */
export function resolveGroups(configs: readonly GroupConfig[] | undefined): ResolvedGroupConfig[] {
  if (configs === undefined) return [];
  if (!Array.isArray(configs))
    throw new CourierError(
      'INVALID_OPTION',
      'groups must be an array of { group, subject?, maxDeliveries?, ... }',
    );
  return configs.map((c) => {
    if (typeof c !== 'object' || c === null || typeof c.group !== 'string' || c.group === '')
      throw new CourierError(
        'INVALID_OPTION',
        `each entry of groups needs a group name, got ${JSON.stringify(c)}`,
      );
    const { group } = c;
    if (c.subject !== undefined && (typeof c.subject !== 'string' || c.subject === ''))
      throw new CourierError('INVALID_OPTION', `group ${group}: subject must be a subject pattern`);
    const backoff = c.backoff ?? [];
    if (!Array.isArray(backoff) || backoff.some((ms) => !Number.isSafeInteger(ms) || ms < 0))
      throw new CourierError(
        'INVALID_OPTION',
        `group ${group}: backoff is ${JSON.stringify(c.backoff)}; use an array of delays in ms, e.g. [1000, 5000, 30000]`,
      );
    const ackWaitMs =
      c.ackWait === undefined ? undefined : optionalMillis(c.ackWait, `group ${group} ackWait`, 0);
    if (ackWaitMs !== undefined && ackWaitMs < 10)
      throw new CourierError('INVALID_OPTION', `group ${group}: ackWait must be at least 10ms`);
    return {
      group,
      subject: c.subject,
      maxDeliveries: whole(group, 'maxDeliveries', c.maxDeliveries, 1),
      backoff,
      ackWaitMs,
      maxInFlight: whole(group, 'maxInFlight', c.maxInFlight, 1),
    };
  });
}

/** The setting for a group's subscription: the entry naming its subject wins over one for the whole group. */
export function groupConfigFor(
  configs: readonly ResolvedGroupConfig[],
  group: string,
  subject: string,
): ResolvedGroupConfig | undefined {
  return (
    configs.find((c) => c.group === group && c.subject === subject) ??
    configs.find((c) => c.group === group && c.subject === undefined)
  );
}

/**
 * A member as the group sees it under `config`: credit and ack wait capped,
 * nack delays raised to the backoff, a delivery whose ack wait ran out held
 * back by the backoff too, and a delivery past `maxDeliveries`
 * dead-lettered by the broker instead of handed over.
 */
export function boundedMember(member: GroupMember, config: ResolvedGroupConfig | undefined): GroupMember {
  if (!config) return member;
  const { maxDeliveries, backoff } = config;
  const exhausted = (attempts: number) => ({
    code: 'HANDLER_ERROR',
    message: `delivered ${attempts} times to group ${config.group} without an ack, the broker's maxDeliveries ${maxDeliveries}; fix the handler, then replay the dead letter`,
    retryable: false,
    data: { maxDeliveries, attempts },
  });
  /** The backoff's floor after the `attempt`th delivery failed: its last entry repeats. */
  const backoffAfter = (attempt: number): number =>
    backoff.length === 0 ? 0 : (backoff[Math.min(attempt, backoff.length) - 1] ?? 0);
  const bounded = (delivery: Delivery): Delivery => ({
    ...delivery,
    nack: (delay) => {
      if (maxDeliveries !== undefined && delivery.attempt >= maxDeliveries)
        return delivery.deadLetter(exhausted(delivery.attempt));
      return delivery.nack(Math.max(delay, backoffAfter(delivery.attempt)));
    },
  });
  return {
    maxInFlight: Math.min(member.maxInFlight, config.maxInFlight ?? Number.POSITIVE_INFINITY),
    ackWait: Math.min(member.ackWait, config.ackWaitMs ?? Number.POSITIVE_INFINITY),
    nackDelay: member.nackDelay,
    // The last allowed delivery expired: no wait, the next pass dead-letters it (and frees its key).
    redeliveryDelay: (attempt) =>
      maxDeliveries !== undefined && attempt >= maxDeliveries ? 0 : backoffAfter(attempt),
    inFlight: 0,
    get stopped() {
      return member.stopped;
    },
    set stopped(value: boolean) {
      member.stopped = value;
    },
    deliver: (delivery) => {
      if (maxDeliveries !== undefined && delivery.attempt > maxDeliveries) {
        // Past the cap (a member died holding it, or ack waits ran out): never handed over again.
        delivery.deadLetter(exhausted(delivery.attempt - 1)).catch(() => undefined);
        return;
      }
      member.deliver(bounded(delivery));
    },
  };
}
