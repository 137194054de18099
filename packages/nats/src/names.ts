/**
 * How Courier names map onto NATS names. Subjects map natively (tokens,
 * `*` and `>` are the same in both); they only gain the deployment prefix.
 * Group names are free text in Courier, but JetStream consumer names and
 * subject tokens allow far less, so they are sanitised and made unique with
 * a short hash of the original.
 */
import { createHash } from 'node:crypto';

/** The subject spaces of one Courier deployment on NATS, all derived from its prefix. */
export interface SubjectSpace {
  /** Events: `<prefix>.<subject>`, captured by the main stream. */
  readonly events: string;
  /** Dead letters: `<prefix>_dlq.<group token>`, captured by the dead-letter stream. */
  readonly deadLetters: string;
  /** Replays: `<prefix>_replay.<consumer name>`, captured by the replay stream. */
  readonly replays: string;
}

/** The subject spaces for a prefix such as `courier`. */
export function subjectSpace(prefix: string): SubjectSpace {
  return { events: prefix, deadLetters: `${prefix}_dlq`, replays: `${prefix}_replay` };
}

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Keeps the characters every NATS name and token accepts, so the name stays readable in `nats` CLI output. */
function readable(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, max);
}

/**
 * The JetStream consumer name of a (group, pattern) pair: readable parts and
 * a hash of both, so that `billing` on `orders.*` and `billing` on
 * `orders.>` never share a consumer. Valid as a consumer name and as one
 * subject token.
 */
export function consumerName(group: string, pattern: string): string {
  return `${readable(group, 32)}_${readable(pattern, 32)}_${hash(`${group}\u0000${pattern}`, 12)}`;
}

/** One subject token standing for a group, for its dead-letter subject. */
export function groupToken(group: string): string {
  return `${readable(group, 40)}_${hash(group, 12)}`;
}

/** Whether a stream name is valid in JetStream (and safe as a directory name). */
export function isValidStreamName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(name);
}

/** Whether a prefix is a valid subject without wildcards. */
export function isValidPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix) && prefix.length <= 64;
}
