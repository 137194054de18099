/**
 * A dead letter's fields (group, pattern, error, attempts, time) as message
 * headers, and back: the one format every engine that keeps dead letters as
 * broker messages writes. The error travels as its wire form in JSON, cut to
 * its code and the start of its message when it is too long for a header;
 * attempts and time as decimal strings.
 *
 * The header names are the engine's: each broker has its own rules for them
 * (STOMP wants underscores so that JMS selectors can name them, AMQP 1.0
 * message annotations must start with `x-opt-`), so each engine passes its
 * table of names. Reading never throws: a dead letter written by something
 * else still lists, with what could be read and the caller's fallbacks.
 */
import type { WireError } from './errors.js';
import type { DeadLetter } from './transport.js';

/** The names of the headers that carry a dead letter's fields, chosen by the engine. */
export interface DeadLetterHeaderNames {
  readonly group: string;
  readonly pattern: string;
  readonly error: string;
  readonly attempts: string;
  readonly time: string;
}

/** What a dead letter carries besides the message itself. */
export type DeadLetterFields = Omit<DeadLetter, 'message'>;

/** What {@link deadLetterFromHeaders} uses for a field that is missing or unreadable. */
export interface DeadLetterFallback {
  /** Usually the group whose dead letters are being read. */
  group: string;
  /** Usually the message's subject. */
  pattern: string;
  /** Usually when the broker stored the message. */
  time: number;
  /** Defaults to 0. */
  attempts?: number;
}

/**
 * Longest error JSON kept whole. Well inside every engine's header limits
 * (AMQP 0-9-1 header tables: 64 KiB); a longer error keeps its code,
 * retryability and the start of its message, and loses its data.
 */
export const MAX_DEAD_LETTER_ERROR_JSON = 4096;

const KEPT_MESSAGE = 1000;

/** The error as JSON for its header: complete when it fits, else code and a cut message. */
function errorJson(error: WireError): string {
  try {
    const full = JSON.stringify(error);
    if (full.length <= MAX_DEAD_LETTER_ERROR_JSON) return full;
  } catch {
    // data that JSON cannot carry (a bigint, a cycle): keep the rest
  }
  const message = String(error.message);
  return JSON.stringify({
    code: String(error.code),
    message: message.length > KEPT_MESSAGE ? `${message.slice(0, KEPT_MESSAGE)}... (truncated)` : message,
    retryable: error.retryable === true,
  });
}

/**
 * The headers of a dead letter's fields, under the engine's `names`; the
 * caller adds them to the copy of the message it sends to the dead letters.
 */
export function deadLetterHeaders(
  fields: DeadLetterFields,
  names: DeadLetterHeaderNames,
): Record<string, string> {
  return {
    [names.group]: fields.group,
    [names.pattern]: fields.pattern,
    [names.error]: errorJson(fields.error),
    [names.attempts]: String(fields.attempts),
    [names.time]: String(fields.time),
  };
}

function parseError(text: string | undefined): WireError {
  if (text === undefined)
    return { code: 'INTERNAL', message: 'dead letter without an error', retryable: false };
  try {
    const parsed = JSON.parse(text) as Partial<Record<keyof WireError, unknown>> | null;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.code === 'string') {
      const error: WireError = {
        code: parsed.code,
        message: typeof parsed.message === 'string' ? parsed.message : parsed.code,
        retryable: parsed.retryable === true,
      };
      if (parsed.data !== undefined) error.data = parsed.data;
      return error;
    }
  } catch {
    // fall through: keep the raw text
  }
  return {
    code: 'INTERNAL',
    message: `dead letter without a readable error: ${text.slice(0, KEPT_MESSAGE)}`,
    retryable: false,
  };
}

function number(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A dead letter's fields read back from its headers. `read` returns a
 * header's value as text (or `undefined` when absent), whatever type the
 * engine stored it as; `fallback` fills what is missing or unreadable. An
 * error that cannot be read becomes an `INTERNAL` one quoting the raw text.
 */
export function deadLetterFromHeaders(
  read: (name: string) => string | undefined,
  names: DeadLetterHeaderNames,
  fallback: DeadLetterFallback,
): DeadLetterFields {
  const attempts = number(read(names.attempts));
  const time = number(read(names.time));
  return {
    group: read(names.group) ?? fallback.group,
    pattern: read(names.pattern) ?? fallback.pattern,
    error: parseError(read(names.error)),
    attempts: attempts !== undefined && attempts >= 0 ? Math.floor(attempts) : (fallback.attempts ?? 0),
    time: time !== undefined && time > 0 ? time : fallback.time,
  };
}
