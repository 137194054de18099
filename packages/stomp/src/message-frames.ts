/**
 * A Courier message as STOMP headers and body, and back. The payload is the
 * frame body, byte for byte; every attribute travels in a `courier_*` header
 * (underscores, so that JMS selectors can name them), the application's
 * headers as one JSON header so that no name can clash with STOMP's own
 * (`destination`, `receipt`, `ack`...). A key becomes `JMSXGroupID`, so
 * ActiveMQ hands one key to one member of a group at a time.
 */
import type { DeadLetterHeaderNames, RawMessage } from '@courier/core';
import type { StompFrame } from './frame.js';

/** Header names carried on every Courier message. */
export const H = {
  id: 'courier_id',
  subject: 'courier_subject',
  time: 'courier_time',
  source: 'courier_source',
  contentType: 'courier_ct',
  headers: 'courier_headers',
  key: 'courier_key',
  deliverAt: 'courier_at',
  /** On a retry copy: the attempt number of its next delivery. */
  attempt: 'courier_attempt',
  /** On a retry copy: not to be handed out before this time (ms since the epoch). */
  notBefore: 'courier_not_before',
  /** On a reply: `ok` or `error`. */
  reply: 'courier_reply',
} as const;

/** The headers of a dead letter's fields, written and read by `deadLetterHeaders` of `@courier/core`. */
export const DeadLetterHeader = {
  group: 'courier_group',
  pattern: 'courier_pattern',
  error: 'courier_error',
  attempts: 'courier_attempts',
  time: 'courier_dead_at',
} as const satisfies DeadLetterHeaderNames;

/** The headers that carry a message's attributes (no destination, no receipt). */
export function messageHeaders(message: RawMessage): Record<string, string> {
  const headers: Record<string, string> = {
    [H.id]: message.id,
    [H.subject]: message.subject,
    [H.time]: String(message.time),
    [H.source]: message.source,
    [H.contentType]: message.contentType,
  };
  if (Object.keys(message.headers).length > 0) headers[H.headers] = JSON.stringify(message.headers);
  if (message.key !== undefined) {
    headers[H.key] = message.key;
    headers['JMSXGroupID'] = message.key;
  }
  if (message.deliverAt !== undefined) headers[H.deliverAt] = String(message.deliverAt);
  return headers;
}

/** The attribute headers found on a received frame, for copies (retries, dead letters, replays). */
export function copyMessageHeaders(frame: StompFrame): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [
    H.id,
    H.subject,
    H.time,
    H.source,
    H.contentType,
    H.headers,
    H.key,
    H.deliverAt,
  ] as const) {
    const value = frame.headers[name];
    if (value !== undefined) out[name] = value;
  }
  const key = frame.headers[H.key];
  if (key !== undefined) out['JMSXGroupID'] = key;
  return out;
}

function parseHeaders(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) if (typeof value === 'string') out[name] = value;
    return out;
  } catch {
    return {};
  }
}

function number(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The message a MESSAGE frame carries. Frames from producers that are not
 * Courier get what can be read from STOMP's own headers.
 */
export function frameMessage(frame: StompFrame, fallbackSubject: string): RawMessage {
  const h = frame.headers;
  const message: RawMessage = {
    id: h[H.id] ?? h['message-id'] ?? '',
    subject: h[H.subject] ?? fallbackSubject,
    payload: frame.body,
    contentType: h[H.contentType] ?? h['content-type'] ?? 'application/octet-stream',
    headers: parseHeaders(h[H.headers]),
    time: number(h[H.time]) ?? number(h['timestamp']) ?? Date.now(),
    source: h[H.source] ?? '',
  };
  const key = h[H.key];
  if (key !== undefined) message.key = key;
  const deliverAt = number(h[H.deliverAt]);
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  return message;
}

/** The subject a foreign frame was published to, from its destination. */
export function subjectOfDestination(destination: string | undefined): string {
  if (destination === undefined) return '';
  return destination.replace(/^\/(?:topic|queue)\/(?:VirtualTopic\.)?/, '');
}

/** How many deliveries this one is (1-based): the copy's count, plus one if ActiveMQ redelivered it. */
export function attemptOf(frame: StompFrame): number {
  const base = number(frame.headers[H.attempt]) ?? 1;
  return Math.max(1, Math.floor(base)) + (frame.headers['redelivered'] === 'true' ? 1 : 0);
}

/** Milliseconds to hold a delivery before handing it over (a retry delay or delivery time not yet reached). */
export function earlyBy(frame: StompFrame, now: number): number {
  const notBefore = Math.max(
    number(frame.headers[H.notBefore]) ?? 0,
    number(frame.headers[H.deliverAt]) ?? 0,
  );
  return notBefore - now;
}
