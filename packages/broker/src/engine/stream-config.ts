/**
 * Stream configuration: which subjects each stream holds, how its messages
 * leave it (limits, interest or work queue), its limits, largest message and
 * dedup window. The configuration is the source of truth (nothing about it is
 * persisted): a message goes to the first configured stream with a matching
 * subject pattern, and to the `default` stream when none matches.
 */
import {
  assertSubject,
  CourierError,
  type Duration,
  optionalMillis,
  patternCovers,
  subjectMatcher,
} from '@courier/core';
import { checkLimits, type RetentionLimits, type RetentionPolicy } from '../storage/retention.js';

/** The stream that holds every subject no configured stream covers. */
export const DEFAULT_STREAM = 'default';

/** One stream of the engine's `streams` option (and of the broker config file's `streams` key). */
export interface StreamConfig {
  /** Letters, digits, `-` and `_`; names the stream's directory. `default` configures the catch-all stream. */
  name: string;
  /** Subject patterns (`*`, `>` allowed) this stream holds; empty or absent only for `default`. */
  subjects?: string[];
  /** `limits` (default): kept until a limit drops them; `interest`: until every durable group acked; `workqueue`: until one group acked. */
  retention?: RetentionPolicy;
  /** Messages older than this are dropped (whole segments), e.g. `'7d'` or ms. */
  maxAge?: Duration;
  /** Most bytes the stream holds on disk. */
  maxBytes?: number;
  /** Most messages the stream holds. */
  maxMessages?: number;
  /** At `maxBytes`/`maxMessages`: drop the oldest (`old`, default) or refuse publishes with `STREAM_FULL` (`new`). */
  discard?: 'old' | 'new';
  /** The largest message accepted on this stream, in bytes; at most the engine's `maxPayload` (the default). */
  maxPayload?: number;
  /** How long message ids are remembered for dedup; the engine's `dedupWindow` by default. */
  dedupWindow?: Duration;
}

/** A stream's configuration, checked, with defaults applied. */
export interface ResolvedStream {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly matchers: readonly ((subject: string) => boolean)[];
  readonly retention: RetentionPolicy;
  readonly limits: RetentionLimits;
  readonly maxPayload: number;
  readonly dedupWindowMs: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const POLICIES: readonly string[] = ['limits', 'interest', 'workqueue'];

function invalid(stream: string, message: string): CourierError {
  return new CourierError('INVALID_OPTION', `stream ${stream}: ${message}`);
}

function positive(stream: string, field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw invalid(stream, `${field} is ${JSON.stringify(value)}; use a whole number of at least 1`);
  return value;
}

function resolveOne(
  config: StreamConfig,
  defaults: { maxPayload: number; dedupWindowMs: number },
): ResolvedStream {
  if (typeof config !== 'object' || config === null)
    throw new CourierError(
      'INVALID_OPTION',
      `each entry of streams must be an object, got ${JSON.stringify(config)}`,
    );
  const name = config.name;
  if (typeof name !== 'string' || !NAME.test(name))
    throw new CourierError(
      'INVALID_OPTION',
      `stream name ${JSON.stringify(name)} is not 1 to 64 letters, digits, - or _; it names a directory, so choose e.g. "orders"`,
    );
  const subjects = config.subjects ?? [];
  if (!Array.isArray(subjects)) throw invalid(name, 'subjects must be an array of subject patterns');
  for (const subject of subjects) {
    try {
      assertSubject(subject, { wildcards: true });
    } catch (error) {
      throw invalid(name, `subject pattern ${JSON.stringify(subject)}: ${(error as Error).message}`);
    }
  }
  if (name === DEFAULT_STREAM && subjects.length > 0)
    throw invalid(
      name,
      'the default stream holds every subject no other stream covers; leave its subjects out',
    );
  if (name !== DEFAULT_STREAM && subjects.length === 0)
    throw invalid(name, 'subjects is empty; list the subject patterns this stream holds, e.g. ["orders.>"]');
  const retention = config.retention ?? 'limits';
  if (!POLICIES.includes(retention))
    throw invalid(name, `retention is ${JSON.stringify(retention)}; use 'limits', 'interest' or 'workqueue'`);
  const maxAgeMs =
    config.maxAge === undefined ? undefined : optionalMillis(config.maxAge, `stream ${name} maxAge`, 0);
  const limits: RetentionLimits = {
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(config.maxBytes !== undefined
      ? { maxBytes: positive(name, 'maxBytes', config.maxBytes) as number }
      : {}),
    ...(config.maxMessages !== undefined
      ? { maxMessages: positive(name, 'maxMessages', config.maxMessages) as number }
      : {}),
    ...(config.discard !== undefined ? { discard: config.discard } : {}),
  };
  try {
    checkLimits(limits);
  } catch (error) {
    throw invalid(name, (error as Error).message);
  }
  const maxPayload = positive(name, 'maxPayload', config.maxPayload) ?? defaults.maxPayload;
  if (maxPayload > defaults.maxPayload)
    throw invalid(
      name,
      `maxPayload ${maxPayload} exceeds the broker's maxPayload ${defaults.maxPayload}; raise the broker's or lower the stream's`,
    );
  const dedupWindowMs = optionalMillis(
    config.dedupWindow,
    `stream ${name} dedupWindow`,
    defaults.dedupWindowMs,
  );
  return {
    name,
    subjects,
    matchers: subjects.map((s) => subjectMatcher(s)),
    retention,
    limits,
    maxPayload,
    dedupWindowMs,
  };
}

/**
 * Checks the `streams` option and returns every stream, the `default` one
 * last (configured or not). Throws `INVALID_OPTION` naming the bad field.
 */
export function resolveStreams(
  configs: readonly StreamConfig[] | undefined,
  defaults: { maxPayload: number; dedupWindowMs: number },
): ResolvedStream[] {
  if (configs !== undefined && !Array.isArray(configs))
    throw new CourierError('INVALID_OPTION', 'streams must be an array of { name, subjects, ... }');
  const streams = (configs ?? []).map((c) => resolveOne(c, defaults));
  const names = new Set<string>();
  for (const s of streams) {
    if (names.has(s.name))
      throw new CourierError(
        'INVALID_OPTION',
        `stream ${s.name} is configured twice; give each stream one entry`,
      );
    names.add(s.name);
  }
  const fallback =
    streams.find((s) => s.name === DEFAULT_STREAM) ?? resolveOne({ name: DEFAULT_STREAM }, defaults);
  return [...streams.filter((s) => s !== fallback), fallback];
}

/** The stream a subject goes to: the first whose patterns match, else the last (`default`). */
export function streamFor<S extends { readonly config: ResolvedStream }>(
  streams: readonly S[],
  subject: string,
): S {
  for (const stream of streams) if (stream.config.matchers.some((m) => m(subject))) return stream;
  return streams[streams.length - 1] as S;
}

/** True when some subject matches both patterns. */
export function patternsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined || q === undefined) return p === q;
    if (p === '>' || q === '>') return true;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
}

/**
 * The streams a group on `pattern` reads: those that may hold a subject it
 * matches, given first-match routing. Stops at the first stream that covers
 * the pattern whole, since no later stream gets those subjects.
 */
export function streamsFor<S extends { readonly config: ResolvedStream }>(
  streams: readonly S[],
  pattern: string,
): S[] {
  const found: S[] = [];
  for (const [i, stream] of streams.entries()) {
    const last = i === streams.length - 1;
    if (last || stream.config.subjects.some((s) => patternsOverlap(s, pattern))) found.push(stream);
    if (stream.config.subjects.some((s) => patternCovers(s, pattern))) break;
  }
  return found;
}
