/**
 * Which whole segments a stream may drop, and why. Retention never splits a
 * segment: limits, age and the engine's "lowest sequence still needed" each
 * release the oldest segments while every record in them is released. Pure
 * functions, so the rules are tested without files.
 */
import { CourierError } from '@courier/core';

/**
 * Limits on what a stream holds. With `discard: 'old'` (the default) the
 * oldest segments are dropped to stay under `maxBytes` and `maxMessages`;
 * with `discard: 'new'` appends that would pass a limit fail with
 * `STREAM_FULL` and nothing is dropped for size. `maxAgeMs` drops segments
 * whose newest record is older, under either discard rule.
 */
export interface RetentionLimits {
  /** Drop segments whose newest record is older than this many ms. */
  maxAgeMs?: number;
  /** Most bytes of segment files the stream holds. */
  maxBytes?: number;
  /** Most records the stream holds. */
  maxMessages?: number;
  /** What happens at `maxBytes`/`maxMessages`: drop the oldest, or refuse the new. */
  discard?: 'old' | 'new';
}

/**
 * How a stream's records leave it: by limits only, by interest (kept until
 * every group acked) or as a work queue (kept until one group acked).
 */
export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';

/** The view of a group that retention needs. */
export interface AckView {
  /** Every sequence at or below this is acknowledged. */
  readonly ackFloor: number;
  /** True when `sequence` is acknowledged. */
  isAcked(sequence: number): boolean;
}

/** The per-segment numbers retention looks at. */
export interface SegmentStats {
  count: number;
  size: number;
  lastSequence: number;
  lastTime: number;
}

/** What to drop: the first `drop` segments, rolling the active one first when it is among them. */
export interface RetentionPlan {
  drop: number;
  rollActive: boolean;
  reasons: string[];
}

/** What one retention pass dropped. */
export interface RetentionOutcome {
  /** Segments removed. */
  segments: number;
  /** Records removed. */
  messages: number;
  /** Why, one reason per removed segment. */
  reasons: string[];
}

/** Validates limits; throws `INVALID_OPTION` naming the bad field. */
export function checkLimits(limits: RetentionLimits): void {
  for (const key of ['maxAgeMs', 'maxBytes', 'maxMessages'] as const) {
    const value = limits[key];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new CourierError('INVALID_OPTION', `retention limit ${key} is ${value}; use a positive number`);
    }
  }
  if (limits.discard !== undefined && limits.discard !== 'old' && limits.discard !== 'new') {
    throw new CourierError('INVALID_OPTION', `discard is ${String(limits.discard)}; use 'old' or 'new'`);
  }
}

/**
 * The lowest sequence a stream still needs under `policy`, from its groups'
 * acknowledgements; `undefined` for `limits` (acks release nothing).
 * `interest` and `workqueue` both keep every sequence that some group has
 * neither acknowledged nor passed: a group's ack floor also passes records
 * its subjects do not match, so a record only one group's subjects match is
 * released once that group acked it (the work-queue promise), and a group
 * that has not read a record yet keeps it. (`workqueue` once took the highest
 * floor, which freed records another group had not read: a group's floor
 * says nothing about subjects it does not match.) With no groups both
 * release everything below `nextSequence`.
 */
export function lowestNeeded(options: {
  policy: RetentionPolicy;
  groups: readonly AckView[];
  nextSequence: number;
}): number | undefined {
  const { policy, groups, nextSequence } = options;
  if (policy === 'limits') return undefined;
  if (groups.length === 0) return nextSequence;
  let sequence = Math.min(...groups.map((g) => g.ackFloor)) + 1;
  while (sequence < nextSequence && groups.every((g) => g.ackFloor >= sequence || g.isAcked(sequence))) {
    sequence++;
  }
  return sequence;
}

/**
 * Plans which of `segments` (oldest first, the last one active) to drop at
 * `now`. Never drops the active segment for size (the stream may sit above a
 * limit by less than one segment, which is why segments default to an
 * eighth of the limit), nor an empty active segment.
 */
export function planRetention(options: {
  segments: readonly SegmentStats[];
  now: number;
  limits: RetentionLimits;
  lowestNeeded: number | undefined;
}): RetentionPlan {
  const { segments, now, limits } = options;
  let messages = 0;
  let bytes = 0;
  for (const s of segments) {
    messages += s.count;
    bytes += s.size;
  }
  const plan: RetentionPlan = { drop: 0, rollActive: false, reasons: [] };
  const discardOld = (limits.discard ?? 'old') === 'old';
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const active = i === segments.length - 1;
    let reason: string | undefined;
    if (s.count === 0) reason = active ? undefined : 'empty';
    else if (options.lowestNeeded !== undefined && s.lastSequence < options.lowestNeeded)
      reason = 'acknowledged';
    else if (limits.maxAgeMs !== undefined && s.lastTime < now - limits.maxAgeMs) reason = 'max_age';
    else if (!active && discardOld && limits.maxMessages !== undefined && messages > limits.maxMessages)
      reason = 'max_messages';
    else if (!active && discardOld && limits.maxBytes !== undefined && bytes > limits.maxBytes)
      reason = 'max_bytes';
    if (reason === undefined) break;
    plan.drop++;
    plan.reasons.push(reason);
    if (active) plan.rollActive = true;
    messages -= s.count;
    bytes -= s.size;
  }
  return plan;
}

/**
 * With `discard: 'new'`, the `STREAM_FULL` error for appends that would take
 * the stream past a limit; `undefined` when they fit or discard is `'old'`.
 */
export function refuseNew(options: {
  limits: RetentionLimits;
  stream: string;
  /** What the stream holds now. */
  messages: number;
  bytes: number;
  /** What is waiting to be committed, the new append included. */
  pendingMessages: number;
  pendingBytes: number;
}): CourierError | undefined {
  const { limits, stream, messages, bytes } = options;
  if (limits.discard !== 'new') return undefined;
  const over =
    limits.maxMessages !== undefined && messages + options.pendingMessages > limits.maxMessages
      ? `max_messages ${limits.maxMessages}`
      : limits.maxBytes !== undefined && bytes + options.pendingBytes > limits.maxBytes
        ? `max_bytes ${limits.maxBytes}`
        : undefined;
  if (!over) return undefined;
  return new CourierError(
    'STREAM_FULL',
    `stream ${stream} is at its limit ${over} (holding ${messages} messages, ${bytes} bytes) and discards ` +
      "new messages; consume and acknowledge to free whole segments, raise the limit, or use discard 'old'",
    { data: { stream, messages, bytes } },
  );
}
