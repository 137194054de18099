/**
 * The mapping between Courier subjects and Kafka topic names, both ways.
 *
 * Kafka topic names allow `[A-Za-z0-9._-]` and at most 249 characters.
 * A subject maps to the topic of the same name where it can: letters,
 * digits, `.` and `-` are kept; every other character (UTF-8 byte) becomes
 * `_` and two lower-case hex digits, `_` itself included (`_5f`). So
 * `orders.created` is the topic `orders.created`, `café.€` is
 * `caf_c3_a9._e2_82_ac`, and decoding is exact. Encoded topics never
 * contain `__`, which keeps Courier's own topics (`__courier.…`) apart.
 * Wildcard patterns become anchored POSIX regular expressions over the
 * encoded names, which Kafka consumers subscribe to.
 */
import { CourierError } from '@courier/core';

/** Kafka's longest topic name. */
export const MAX_TOPIC_LENGTH = 249;

const KEPT = /^[A-Za-z0-9.-]$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodeText(text: string): string {
  let out = '';
  for (const char of text) {
    if (KEPT.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function decodeText(text: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char !== '_') {
      if (!KEPT.test(char)) return undefined;
      bytes.push(char.charCodeAt(0));
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  try {
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/**
 * The topic for a subject.
 * @throws CourierError `INVALID_SUBJECT` when the topic would pass Kafka's 249-character limit.
 */
export function subjectToTopic(subject: string, prefix = ''): string {
  const topic = prefix + encodeText(subject);
  if (topic.length > MAX_TOPIC_LENGTH) {
    throw new CourierError(
      'INVALID_SUBJECT',
      `subject ${JSON.stringify(subject.slice(0, 60))} maps to a Kafka topic of ${topic.length} characters; Kafka allows ${MAX_TOPIC_LENGTH}: use a shorter subject`,
      { data: { subject } },
    );
  }
  return topic;
}

/** The subject of a topic, or `undefined` for a topic that no subject maps to. */
export function topicToSubject(topic: string, prefix = ''): string | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const subject = decodeText(topic.slice(prefix.length));
  if (subject === undefined || subject === '' || subject.split('.').includes('')) return undefined;
  return subject;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

// One encoded token: kept characters but '.', or an escaped byte.
const TOKEN = '([A-Za-z0-9-]|_[0-9a-f][0-9a-f])+';

/**
 * The subscription for a subject pattern: the topic itself when the
 * pattern has no wildcard, else an anchored regular expression (`^…$`,
 * which Kafka clients treat as a pattern subscription) over encoded names.
 */
export function patternToSubscription(pattern: string, prefix = ''): string {
  const tokens = pattern.split('.');
  if (!tokens.includes('*') && !tokens.includes('>')) return subjectToTopic(pattern, prefix);
  const parts = tokens.map((token) => {
    if (token === '*') return TOKEN;
    if (token === '>') return `${TOKEN}(\\.${TOKEN})*`;
    return escapeRegex(encodeText(token));
  });
  return `^${escapeRegex(prefix)}${parts.join('\\.')}$`;
}

function internalName(kind: string, group: string, pattern: string, prefix: string): string {
  // Groups and patterns are free text: encode both, and hash when too long for a topic name.
  const name = `${prefix}__courier.${kind}.${encodeText(group)}.${encodeText(pattern)}`;
  if (name.length <= MAX_TOPIC_LENGTH) return name;
  return `${prefix}__courier.${kind}.${fnv(`${group}\u0000${pattern}`)}`;
}

function fnv(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (const byte of encoder.encode(text)) {
    a = Math.imul(a ^ byte, 0x01000193) >>> 0;
    b = Math.imul(b ^ byte, 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** The topic holding a group's retries (and dead-letter replays) for one subscription pattern. */
export function retryTopic(group: string, pattern: string, prefix = ''): string {
  return internalName('retry', group, pattern, prefix);
}

/** The topic holding a group's dead letters (all of its patterns). */
export function deadLetterTopic(group: string, prefix = ''): string {
  return internalName('dlq', group, '', prefix).replace(/\.$/, '');
}
