/**
 * How Courier's names become ActiveMQ destinations. Subjects publish to the
 * virtual topic `VirtualTopic.<subject>`; a group reads its own consumer
 * queue `Consumer.<group>~<hash>.VirtualTopic.<pattern>`, which ActiveMQ fills
 * with a copy of every message whose topic matches the pattern. The hash of
 * the pattern in the group token keeps the wildcard queue of one pattern from
 * draining the queues of the same group's other patterns (an ActiveMQ
 * consumer on a wildcard queue name reads every queue that matches it).
 *
 * Tokens are percent-encoded down to `[A-Za-z0-9_-]` so that characters
 * ActiveMQ gives meaning to (`,` composite, `/`, `:`) and dots inside group
 * names cannot change a destination's shape; `*` and `>` stay wildcards.
 */
import { createHash } from 'node:crypto';

/** The prefix of request queues: `courier.rpc.<subject or pattern>`. */
export const RPC_PREFIX = 'courier.rpc.';
/** The prefix of dead-letter queues: `courier.dlq.<group>`. */
export const DLQ_PREFIX = 'courier.dlq.';

const SAFE = /^[A-Za-z0-9_-]$/;

/** One token, percent-encoded to `[A-Za-z0-9_-%]`. */
export function encodeToken(token: string): string {
  let out = '';
  for (const char of token) {
    if (SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8'))
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of {@link encodeToken}; undefined for text it could not have produced. */
export function decodeToken(token: string): string | undefined {
  if (!/^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})*$/.test(token)) return undefined;
  try {
    return decodeURIComponent(token);
  } catch {
    return undefined;
  }
}

/** A subject or pattern as ActiveMQ dot-separated tokens; wildcards stay wildcards. */
export function encodeSubject(subject: string): string {
  return subject
    .split('.')
    .map((t) => (t === '*' || t === '>' ? t : encodeToken(t)))
    .join('.');
}

/** The inverse of {@link encodeSubject}; undefined when a token is not one of ours. */
export function decodeSubject(encoded: string): string | undefined {
  const tokens: string[] = [];
  for (const token of encoded.split('.')) {
    if (token === '*' || token === '>') {
      tokens.push(token);
      continue;
    }
    const decoded = decodeToken(token);
    if (decoded === undefined || decoded === '') return undefined;
    tokens.push(decoded);
  }
  return tokens.join('.');
}

/** The topic a subject is published to. */
export function topicFor(subject: string): string {
  return `/topic/VirtualTopic.${encodeSubject(subject)}`;
}

/** The consumer queue of a durable (group, pattern) pair. */
export function consumerQueue(group: string, pattern: string): string {
  const hash = createHash('sha256').update(pattern).digest('hex').slice(0, 10);
  return `/queue/Consumer.${encodeToken(group)}~${hash}.VirtualTopic.${encodeSubject(pattern)}`;
}

/** The dead-letter queue of a group (all its patterns). */
export function deadLetterQueue(group: string): string {
  return `/queue/${DLQ_PREFIX}${encodeToken(group)}`;
}

/** The queue requests to a subject (or responders of a pattern) use. */
export function requestQueue(subjectOrPattern: string): string {
  return `/queue/${RPC_PREFIX}${encodeSubject(subjectOrPattern)}`;
}
