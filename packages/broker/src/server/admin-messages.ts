/**
 * The admin API's message views: browsing a stream by sequence
 * (`/api/streams/:name/messages`) and the dead-letter queue with its replay
 * and discard actions (`/api/dead-letters`). Reading needs the `subscribe`
 * right on the subjects read; replay and discard need `publish` on the
 * group's pattern.
 */
import { assertSubject, CourierError, type DeadLetter, type RawMessage, subjectMatcher } from '@courier/core';
import type { BrokerEngine } from '../engine/broker-engine.js';
import type { StreamStats } from '../engine/engine-stream.js';
import { requireRight } from './admin-auth.js';
import { intParam, payloadData, stringField, stringsField } from './admin-http.js';
import type { Permissions } from './permissions.js';

/** Records scanned at most per page when a subject filter skips most of them. */
const MAX_SCAN = 10_000;

/** The streams the engine holds now; the default stream (configured without subjects) shows `>`. */
export async function engineStreams(engine: BrokerEngine): Promise<StreamStats[]> {
  // Reading the default stream can show any subject, so it needs the right on `>`.
  return (await engine.stats()).streams.map((s) => (s.subjects.length === 0 ? { ...s, subjects: ['>'] } : s));
}

function messageView(seq: number, message: RawMessage): Record<string, unknown> {
  return {
    seq,
    time: message.time,
    id: message.id,
    subject: message.subject,
    ...(message.key !== undefined ? { key: message.key } : {}),
    headers: message.headers,
    contentType: message.contentType,
    size: message.payload.byteLength,
    data: payloadData(message.payload),
  };
}

/** `GET /api/streams/:name/messages?from=SEQ&limit=N&subject=PATTERN`. */
export async function streamMessages(
  engine: BrokerEngine,
  name: string,
  url: URL,
  permissions: Permissions,
): Promise<{ messages: Record<string, unknown>[]; next: number | null }> {
  const stream = (await engineStreams(engine)).find((s) => s.name === name);
  if (!stream)
    throw new CourierError(
      'NOT_FOUND',
      `no stream named ${JSON.stringify(name)}; GET /api/streams lists them`,
    );
  const filter = url.searchParams.get('subject') ?? undefined;
  if (filter !== undefined) assertSubject(filter, { wildcards: true });
  for (const pattern of filter === undefined ? stream.subjects : [filter])
    requireRight(
      permissions,
      'subscribe',
      pattern,
      `read stream ${name}${filter === undefined ? ' (pass ?subject=PATTERN to read only subjects the token covers)' : ''}`,
    );
  const limit = intParam(url, 'limit', { min: 1, max: 500, fallback: 50 });
  let from = intParam(url, 'from', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: stream.firstSequence });
  const matches = filter === undefined ? () => true : subjectMatcher(filter);
  const messages: Record<string, unknown>[] = [];
  let scanned = 0;
  while (messages.length < limit && scanned < MAX_SCAN && from <= stream.lastSequence) {
    const records = await engine.readStream(name, { from, limit: filter === undefined ? limit : 256 });
    if (!records || records.length === 0) break;
    for (const record of records) {
      from = record.sequence + 1;
      scanned++;
      if (record.message && matches(record.message.subject))
        messages.push(messageView(record.sequence, record.message));
      if (messages.length >= limit) break;
    }
  }
  return { messages, next: from <= stream.lastSequence ? from : null };
}

function deadLetterView(entry: DeadLetter): Record<string, unknown> {
  const { message } = entry;
  return {
    id: message.id,
    group: entry.group,
    pattern: entry.pattern,
    subject: message.subject,
    error: { code: entry.error.code, message: entry.error.message },
    attempts: entry.attempts,
    time: entry.time,
    size: message.payload.byteLength,
    headers: message.headers,
    contentType: message.contentType,
    data: payloadData(message.payload),
  };
}

/** How many dead letters the broker holds, over every group (from memory, no scan). */
export function deadLetterTotal(engine: BrokerEngine): number {
  let total = 0;
  for (const n of engine.deadLetterCounts().values()) total += n;
  return total;
}

/** `GET /api/dead-letters?group=G&limit=N`. */
export async function listDeadLetters(
  context: { engine: BrokerEngine },
  url: URL,
  permissions: Permissions,
): Promise<Record<string, unknown>[]> {
  const limit = intParam(url, 'limit', { min: 1, max: 10_000, fallback: 100 });
  const group = url.searchParams.get('group');
  if (group === '')
    throw new CourierError('INVALID_OPTION', 'query parameter group is empty; name a group or leave it out');
  if (group === null) {
    // Across groups, a token sees the dead letters it may read, and no error for the rest.
    // One scan of the log, for every group that holds dead letters on disk (open here or not).
    const entries = await context.engine.allDeadLetters();
    return entries
      .filter((e) => permissions.canSubscribe(e.pattern))
      .slice(0, limit)
      .map(deadLetterView);
  }
  const entries = await context.engine.deadLetters.list(group, { limit });
  for (const pattern of new Set(entries.map((e) => e.pattern)))
    requireRight(permissions, 'subscribe', pattern, `read group ${group}'s dead letters`);
  return entries.map(deadLetterView);
}

/** `POST /api/dead-letters/replay|discard` with `{ group, ids? }`: how many were replayed or discarded. */
export async function changeDeadLetters(
  engine: BrokerEngine,
  action: 'replay' | 'discard',
  body: Record<string, unknown>,
  permissions: Permissions,
): Promise<number> {
  const group = stringField(body, 'group', 'billing');
  const ids = stringsField(body, 'ids');
  const entries = await engine.deadLetters.list(group);
  const chosen = ids === undefined ? entries : entries.filter((e) => ids.includes(e.message.id));
  if (ids !== undefined) {
    const found = new Set(chosen.map((e) => e.message.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0)
      throw new CourierError(
        'NOT_FOUND',
        `group ${group} has no dead letter with id ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}; GET /api/dead-letters?group=${encodeURIComponent(group)} lists them`,
        { data: { missing } },
      );
  }
  for (const pattern of new Set(chosen.map((e) => e.pattern)))
    requireRight(permissions, 'publish', pattern, `${action} group ${group}'s dead letters`);
  if (chosen.length === 0) return 0;
  // By the ids checked above, so a dead letter that arrives meanwhile is not changed unchecked.
  const checked = [...new Set(chosen.map((e) => e.message.id))];
  return action === 'replay'
    ? engine.deadLetters.replay(group, checked)
    : engine.deadLetters.purge(group, checked);
}
